using System.Diagnostics;
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
        // The stub answers the handful of commands deploy.sh uses. It logs each call's arguments as one line
        // (separated by \x1f) and keeps a copy of any @parameters file it was given, named after the call's line.
        File.WriteAllText(Path.Combine(_dir, "az"), """
            #!/usr/bin/env bash
            { printf '%s\x1f' "$@"; printf '\n'; } >> "$STUB_LOG"
            n=$(wc -l < "$STUB_LOG")
            for a in "$@"; do
              case "$a" in @*) [ -f "${a#@}" ] && cp "${a#@}" "$STUB_LOG.$n.$(basename "${a#@}")" ;; esac
            done
            prev=""
            for a in "$@"; do [ "$prev" = "--outfile" ] && outfile="$a"; prev="$a"; done
            if [ "$1 $2" = "acr build" ]; then ls -A "$prev" > "$STUB_LOG.$n.context"; fi
            case "$1 $2 $3" in
              "deployment group show"|"containerapp show "*) exit 3 ;;
              "bicep build-params "*) echo '{"parameters": {}}' > "$outfile" ;;
              "deployment group create")
                echo '{"registryName": {"value": "coralacrx"}, "registryLoginServer": {"value": "coralacrx.azurecr.io"},'
                echo ' "scorerAppName": {"value": "ca-coral-scorer"}, "generatorAppName": {"value": "ca-coral-generator"},'
                echo ' "scorerFunctionName": {"value": "Score"}, "dataStorageAccountName": {"value": "coraldatax"}}' ;;
              "containerapp function list") echo "ca-coral-scorer/Score" ;;
              "containerapp function keys")
                echo '{"keys": [{"name": "durabletask_extension", "value": "other"}, {"name": "blobs_extension", "value": "KEY"}]}' ;;
            esac
            exit 0
            """.Replace("KEY", Key).Replace("\r", ""));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Path.Combine(_dir, "az"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

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

        var argv = File.ReadAllLines(log).Select(l => l.TrimEnd('\x1f').Split('\x1f').ToList()).ToList();
        string? FileOfCall(int index, string name) =>
            File.Exists(log + "." + (index + 1) + "." + name) ? File.ReadAllText(log + "." + (index + 1) + "." + name) : null;
        argv.Should().NotContain(a => a.Any(x => x.Contains(Key)), "the key never appears on a command line");

        var deploys = Enumerable.Range(0, argv.Count).Where(i => argv[i][0] == "deployment" && argv[i][2] == "create").ToList();
        deploys.Should().HaveCount(3);
        var deployArgs = deploys.Select(i => string.Join(' ', argv[i])).ToList();
        deployArgs.Should().OnlyContain(d => d.Contains("--template-file infra/main.bicep") && d.Contains("gpuProfileType=Consumption-GPU-NC24-A100"));
        deployArgs[0].Should().NotContain("scorerImage=", "first pass on a new group keeps the template's placeholder images");
        foreach (var d in deployArgs.Skip(1))
            d.Should().Contain("scorerImage=coralacrx.azurecr.io/coral-scorer:t1").And.Contain("generatorImage=coralacrx.azurecr.io/coral-generator:t1");
        FileOfCall(deploys[2], "key.parameters.json").Should().NotBeNull("the last pass reads the key from a parameters file")
            .And.Contain(Key).And.Contain("scorerBlobsExtensionKey");
        FileOfCall(deploys[1], "key.parameters.json").Should().BeNull();

        var buildCalls = Enumerable.Range(0, argv.Count).Where(i => argv[i][0] == "acr" && argv[i][1] == "build").ToList();
        var builds = buildCalls.Select(i => string.Join(' ', argv[i])).ToList();
        builds.Should().HaveCount(2);
        foreach (var i in buildCalls)
        {
            var context = FileOfCall(i, "context")!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            context.Should().Contain(new[] { "src", "build", "models", "infra", "host.json", "Directory.Packages.props", "Directory.Build.props" }, "host.json is at the top, outside src/");
            context.Should().NotContain(new[] { "runs", "artifacts", "tools", "tests", ".git" }, "the upload is the committed sources only");
        }
        builds.Should().Contain(b => b.Contains("-f infra/scorer.Dockerfile") && b.Contains("coral-scorer:t1"));
        builds.Should().Contain(b => b.Contains("-f infra/generator.Dockerfile") && b.Contains("coral-generator:t1"));
        int firstBuild = argv.FindIndex(a => a[0] == "acr");
        int secondDeploy = argv.FindIndex(a => a[0] == "deployment" && a[2] == "create" && a.Any(x => x.StartsWith("scorerImage=", StringComparison.Ordinal)));
        firstBuild.Should().BeLessThan(secondDeploy, "images are pushed before the apps are pointed at them");

        Directory.GetFiles(_dir, "key.parameters.json", SearchOption.AllDirectories).Should().BeEmpty("temp files are removed on exit");
    }
}
