using Coral.Pipeline.Models;
using Coral.Pipeline.Scoring;
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
builder.Services.AddSingleton(sp => PipelineFactory.ScoringOptions(Setting(sp)));
builder.Services.AddSingleton(sp => new ScoreHandler(sp.GetRequiredService<PipelineStorage>(), sp.GetRequiredService<IImageScorer>(),
    sp.GetRequiredService<ScoringOptions>(), sp.GetRequiredService<ILogger<ScoreHandler>>()));
builder.Build().Run();

static Func<string, string?> Setting(IServiceProvider sp)
{
    var configuration = sp.GetRequiredService<IConfiguration>();
    return key => configuration[key];
}
