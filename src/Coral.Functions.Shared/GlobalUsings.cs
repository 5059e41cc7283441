// Namespaces every function app uses (Program.cs and function classes stay a few lines each).
global using Coral.Pipeline.Models;
global using Coral.Pipeline.Names;
global using Coral.Pipeline.Scoring;
global using Coral.Pipeline.Storage;
global using Microsoft.Azure.Functions.Worker;
global using Microsoft.Azure.Functions.Worker.Builder;
global using Microsoft.Extensions.DependencyInjection;
global using Microsoft.Extensions.Hosting;
global using Microsoft.Extensions.Logging;
