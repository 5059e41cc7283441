using Coral.Functions;
using Coral.Pipeline.Generation;

// Thin host: all logic is in Coral.Pipeline. One batch at a time per instance (host.json batchSize 1; GPU).
// Introspection is on only when the OpenAI endpoint setting is set (infra: deployOpenAi, Entra ID).
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddCoralPipeline();
builder.Services.AddSingleton(sp => new GenerateHandler(sp.GetRequiredService<PipelineStorage>(),
    PipelineFactory.LoadGenerator(FunctionsServices.Setting(sp), sp.GetRequiredService<IImageScorer>()),
    sp.GetRequiredService<ILogger<GenerateHandler>>(),
    introspector: PipelineFactory.LoadIntrospector(FunctionsServices.Setting(sp), sp.GetRequiredService<ILoggerFactory>())));
builder.Build().Run();
