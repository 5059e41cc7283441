using System.Diagnostics;
using Coral.Infra.Tests.Infra;

namespace Coral.Infra.Tests;

/// <summary>The image builds and the deploy script cannot run here (no Docker daemon, no Azure); these checks keep
/// them consistent with the projects and the Bicep.</summary>
public sealed class DeployArtifactsTests
{
    private static string Read(params string[] parts) => File.ReadAllText(Path.Combine([BicepCli.RepoRoot, .. parts]));

    [Fact]
    public void Deploy_script_is_valid_bash_and_runs_the_bicep_deployment()
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(Path.Combine(BicepCli.RepoRoot, "scripts", "deploy.sh"));
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.Should().Be(0, err);

        var script = Read("scripts", "deploy.sh");
        script.Should().Contain("az deployment group create");
        script.Should().Contain("infra/main.bicep").And.Contain("infra/main.bicepparam");
        script.Should().Contain("infra/scorer.Dockerfile").And.Contain("infra/generator.Dockerfile");
        script.Should().Contain("scorerBlobsExtensionKey", "the last pass wires Event Grid with the host's key");
        script.Should().Contain("az containerapp function keys");
        script.Should().NotContainAny("listKeys", "connection-string", "--account-key", "generate-sas");
    }

    [Theory]
    [InlineData("scorer.Dockerfile", "Coral.Functions.Scorer")]
    [InlineData("generator.Dockerfile", "Coral.Functions.Generator")]
    public void Images_build_the_app_with_the_real_functions_worker(string dockerfile, string project)
    {
        var text = Read("infra", dockerfile);
        text.Should().Contain($"src/{project}/{project}.csproj");
        text.Should().NotContain("FunctionsWorker", "the apps always build against the real isolated worker: there is no switch");
        Read("src", project, project + ".csproj").Should().Contain("build/FunctionsApp.props");
        Read("build", "FunctionsApp.props").Should().Contain("\"Microsoft.Azure.Functions.Worker.Sdk\"");
        text.Should().Contain("AzureWebJobsScriptRoot=/home/site/wwwroot");
    }

    [Fact]
    public void Generator_image_builds_the_cuda_torch_backend_and_the_scorer_image_carries_no_libtorch()
    {
        var generator = Read("infra", "generator.Dockerfile");
        generator.Should().Contain("-p:TorchBackend=cuda");
        var scorer = Read("infra", "scorer.Dockerfile");
        scorer.Should().NotContain("TorchBackend").And.NotContain("GLIBCXX", "the scorer runs the ONNX graph: no libtorch, no libstdc++ fix");
        scorer.Should().Contain("libonnxruntime.so").And.Contain("scorer.onnx", "the image build fails early if ONNX Runtime or the graph is missing");
        Read("src", "Coral.Pipeline.Models", "Coral.Pipeline.Models.csproj").Should().NotContain("Coral.Ml.csproj", "the scorer app's adapters reference no torch project");
    }

    [Fact]
    public void Generator_image_starts_from_a_cuda_runtime_with_a_new_enough_libstdcxx()
    {
        var text = Read("infra", "generator.Dockerfile");
        text.Should().MatchRegex(@"ARG CUDA_BASE=nvidia/cuda:12\.\d+(\.\d+)?-[a-z-]*runtime-ubuntu24\.04", "Ubuntu 24.04 ships GCC 14's libstdc++ (GLIBCXX_3.4.33)");
        text.Should().Contain("FROM ${CUDA_BASE}\n", "the final stage is the CUDA runtime");
        Read("Directory.Packages.props").Should().Contain("TorchSharp-cuda-linux");
        Read("build", "Torch.props").Should().Contain("'$(TorchBackend)' == 'cuda'");
    }
}
