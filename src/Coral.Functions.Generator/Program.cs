using Coral.Pipeline.Generation;
using Coral.Pipeline.Models;
using Coral.Pipeline.Storage;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Thin host: all logic is in Coral.Pipeline; settings (CoralStorage, Coral__*) come from app settings.
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddSingleton(sp => PipelineStorage.FromSettings(Setting(sp)));
builder.Services.AddSingleton(sp => PipelineFactory.LoadScorer(Setting(sp)));
builder.Services.AddSingleton(sp => PipelineFactory.LoadGenerator(Setting(sp), sp.GetRequiredService<Coral.Pipeline.Scoring.IImageScorer>()));
builder.Services.AddSingleton(sp => new GenerateHandler(sp.GetRequiredService<PipelineStorage>(), sp.GetRequiredService<ILongtailBatchGenerator>(),
    sp.GetRequiredService<ILogger<GenerateHandler>>()));
builder.Build().Run();

static Func<string, string?> Setting(IServiceProvider sp)
{
    var configuration = sp.GetRequiredService<IConfiguration>();
    return key => configuration[key];
}
