using System.Globalization;
using System.Text.Json;
using Coral.Ml.Classification;
using Coral.Ml.Signals;
using Coral.Scoring.Onnx;

namespace Coral.Ml.Export;

/// <summary>The bundle facts an ONNX-only scorer needs, as the model's metadata entries (keys in <see cref="OnnxNames"/>).</summary>
public static class OnnxMetadata
{
    public static IEnumerable<(string Key, string Value)> Of(ClassifierBundle bundle, string version)
    {
        var c = bundle.Config;
        yield return (OnnxNames.MetaClassNames, JsonSerializer.Serialize(bundle.ClassNames));
        yield return (OnnxNames.MetaInputShape, $"{c.Channels}x{c.Height}x{c.Width}");
        yield return (OnnxNames.MetaVersion, version);
        if (bundle.Calibration is { } cal)
        {
            yield return (OnnxNames.MetaThresholds, JsonSerializer.Serialize(cal.Thresholds.ToDictionary(kv => LongtailSignals.NameOf(kv.Key), kv => kv.Value)));
            yield return (OnnxNames.MetaFlagSignal, LongtailSignals.NameOf(cal.FlagSignal));
            yield return (OnnxNames.MetaFlagRate, cal.FlagRate.ToString(CultureInfo.InvariantCulture));
            if (cal.OutOfDomainThreshold is double ceiling)
                yield return (OnnxNames.MetaOutOfDomainThreshold, ceiling.ToString("R", CultureInfo.InvariantCulture));
        }
    }
}
