using Coral.Functions;
using Coral.Pipeline.Models;
using Coral.Pipeline.Scoring;
using Coral.Pipeline.Storage;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Thin host: all logic is in Coral.Pipeline.
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddCoralPipeline();
builder.Services.AddSingleton(sp => new ScoreHandler(sp.GetRequiredService<PipelineStorage>(), sp.GetRequiredService<IImageScorer>(),
    PipelineFactory.ScoringOptions(FunctionsServices.Setting(sp)), sp.GetRequiredService<ILogger<ScoreHandler>>()));
builder.Build().Run();
