using Coral.Pipeline.Generation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coral.Pipeline.Models.Diffusion;

public static class GeneratorServices
{
    /// <summary>
    /// The generator's composition: the pipeline, the shipped diffusion model with its guiding classifier behind
    /// <see cref="ILongtailBatchGenerator"/> (the classifier is loaded once, as the guide: the generator scores nothing
    /// else), and optional introspection.
    /// </summary>
    public static IServiceCollection AddCoralGenerator(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCoralPipeline(configuration).AddModelOptions(configuration).AddIntrospection(configuration);
        services.AddSingleton<ILongtailBatchGenerator>(sp =>
        {
            var models = sp.GetRequiredService<IOptions<ModelOptions>>().Value;
            Coral.Ml.TorchRuntime.UseHostDefaults();
            return LtgBatchGenerator.Load(ModelPaths.Resolve(models.DiffusionPath), ModelPaths.Resolve(models.ClassifierPath));
        });
        return services;
    }
}
