using Coral.Pipeline.Models;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// As the Azure samples: the isolated worker, Application Insights, then the pipeline (all logic is in the libraries).
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
builder.Services.AddCoralScorer(builder.Configuration);
builder.Build().Run();
