using Coral.Pipeline.Models.Diffusion;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// As the Azure samples: the isolated worker, Application Insights, then the pipeline (all logic is in the libraries).
// One batch at a time per instance (host.json at the repository root: batchSize 1; GPU). Introspection is on only when its endpoint is set.
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
builder.Services.AddCoralGenerator(builder.Configuration);
builder.Build().Run();
