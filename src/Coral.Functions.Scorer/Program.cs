using Coral.Functions;

// Thin host: all logic is in Coral.Pipeline.
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddCoralPipeline();
builder.Services.AddSingleton(sp => new ScoreHandler(sp.GetRequiredService<PipelineStorage>(), sp.GetRequiredService<IImageScorer>(),
    PipelineFactory.ScoringOptions(FunctionsServices.Setting(sp)), sp.GetRequiredService<ILogger<ScoreHandler>>()));
builder.Build().Run();
