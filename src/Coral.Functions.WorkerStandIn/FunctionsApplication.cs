using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Azure.Functions.Worker.Builder;

/// <summary>Real: src/DotNetWorker/Builder/FunctionsApplication.cs.</summary>
public class FunctionsApplication
{
    public static FunctionsApplicationBuilder CreateBuilder(string[] args) => new(args);
}

/// <summary>
/// Real: src/DotNetWorker/Builder/FunctionsApplicationBuilder.cs (an IHostApplicationBuilder). Only the
/// members the apps call exist here; <see cref="Build"/> refuses, because a stand-in build cannot host functions.
/// </summary>
public class FunctionsApplicationBuilder
{
    internal FunctionsApplicationBuilder(string[]? args) { _ = args; }

    public IServiceCollection Services { get; } = new ServiceCollection();

    public IHost Build() => throw new NotSupportedException(
        "This app was built with the compile-only Functions worker stand-in. Rebuild with -p:FunctionsWorker=real to host it, " +
        "or run the same handlers locally with `coral serve`.");
}
