using System.Diagnostics;
using System.Text.Json;
using Coral.Infra.Tests.Infra;

namespace Coral.Infra.Tests;

/// <summary>
/// Runs scripts/deploy.sh end to end against a stub `az` that records every call (no Azure here): checks the
/// order of passes, the images each pass deploys, and that the host key reaches only the last pass, through a
/// file, never on a command line or in the output.
/// </summary>
public sealed class DeployScriptRunTests : IDisposable
{
    private const string Key = "stub-blobs-extension-key-5f2c";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "coral-deploy-stub-" + Guid.NewGuid().ToString("N"));

    public DeployScriptRunTests()
    {
        Directory.CreateDirectory(_dir);
        // The stub answers the handful of commands deploy.sh uses and logs one JSON line per call.
        File.WriteAllText(Path.Combine(_dir, "az"), $$$"""
            #!/usr/bin/env bash
            python3 - "$@" <<'PY'
            import json, os, sys
            args = sys.argv[1:]
            entry = {"args": args}
            for a in args:
                if a.startswith("@") and os.path.isfile(a[1:]):
                    entry["file:" + os.path.basename(a[1:])] = open(a[1:]).read()
            with open(os.environ["STUB_LOG"], "a") as log:
                log.write(json.dumps(entry) + "\n")
            cmd = " ".join(args[:3])
            def arg(name):
                return args[args.index(name) + 1] if name in args else None
            if cmd.startswith("deployment group show") or cmd.startswith("containerapp show"):
                sys.exit(3)  # nothing deployed before
            if cmd.startswith("bicep build-params"):
                json.dump({"parameters": {}}, open(arg("--outfile"), "w"))
            elif cmd.startswith("deployment group create"):
                outputs = {"registryName": "coralacrx", "registryLoginServer": "coralacrx.azurecr.io",
                           "scorerAppName": "ca-coral-scorer", "generatorAppName": "ca-coral-generator",
                           "scorerFunctionName": "Score", "dataStorageAccountName": "coraldatax"}
                print(json.dumps({k: {"type": "String", "value": v} for k, v in outputs.items()}))
            elif cmd.startswith("containerapp function list"):
                print("ca-coral-scorer/Score")
            elif cmd.startswith("containerapp function keys"):
                print(json.dumps({"keys": [{"name": "durabletask_extension", "value": "other"},
                                           {"name": "blobs_extension", "value": "{{{Key}}}"}]}))
            PY
            """.Replace("\r", ""));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Path.Combine(_dir, "az"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static string Args(JsonElement call) => string.Join(' ', call.GetProperty("args").EnumerateArray().Select(a => a.GetString()));

    [Fact]
    public async Task Deploys_infra_then_images_then_apps_then_event_grid_with_the_key_only_in_a_file()
    {
        var log = Path.Combine(_dir, "calls.jsonl");
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = BicepCli.RepoRoot,
        };
        psi.ArgumentList.Add(Path.Combine(BicepCli.RepoRoot, "scripts", "deploy.sh"));
        foreach (var a in new[] { "-g", "rg-test", "--gpu", "a100", "--tag", "t1" }) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = _dir + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["STUB_LOG"] = log;
        psi.Environment["TMPDIR"] = _dir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token); // the stub answers at once: the script must not wait
        string output = await stdout + await stderr;
        p.ExitCode.Should().Be(0, output);
        output.Should().NotContain(Key, "the host key is never printed");

        var calls = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var argv = calls.Select(c => c.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList()).ToList();
        argv.Should().NotContain(a => a.Any(x => x.Contains(Key)), "the key never appears on a command line");

        var deploys = calls.Where(c => c.GetProperty("args")[0].GetString() == "deployment" && c.GetProperty("args")[2].GetString() == "create").ToList();
        deploys.Should().HaveCount(3);
        var deployArgs = deploys.Select(Args).ToList();
        deployArgs.Should().OnlyContain(d => d.Contains("--template-file infra/main.bicep") && d.Contains("gpuProfileType=Consumption-GPU-NC24-A100"));
        Args(deploys[0]).Should().NotContain("scorerImage=", "first pass on a new group keeps the template's placeholder images");
        foreach (var d in deploys.Skip(1))
            Args(d).Should().Contain("scorerImage=coralacrx.azurecr.io/coral-scorer:t1").And.Contain("generatorImage=coralacrx.azurecr.io/coral-generator:t1");
        deploys[2].TryGetProperty("file:key.parameters.json", out var keyFile).Should().BeTrue("the last pass reads the key from a parameters file");
        keyFile.GetString().Should().Contain(Key).And.Contain("scorerBlobsExtensionKey");
        deploys[1].TryGetProperty("file:key.parameters.json", out _).Should().BeFalse();

        var builds = argv.Where(a => a[0] == "acr" && a[1] == "build").Select(a => string.Join(' ', a)).ToList();
        builds.Should().HaveCount(2);
        builds.Should().Contain(b => b.Contains("-f infra/scorer.Dockerfile") && b.Contains("coral-scorer:t1"));
        builds.Should().Contain(b => b.Contains("-f infra/generator.Dockerfile") && b.Contains("coral-generator:t1"));
        int firstBuild = argv.FindIndex(a => a[0] == "acr");
        int secondDeploy = argv.FindIndex(a => a[0] == "deployment" && a[2] == "create" && a.Any(x => x.StartsWith("scorerImage=", StringComparison.Ordinal)));
        firstBuild.Should().BeLessThan(secondDeploy, "images are pushed before the apps are pointed at them");

        Directory.GetFiles(_dir, "key.parameters.json", SearchOption.AllDirectories).Should().BeEmpty("temp files are removed on exit");
    }
}
