using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text;
using Coral.Pipeline.Contracts;

namespace Coral.Pipeline.Manifests;

/// <summary>
/// A self-contained HTML review page per batch (manifests/{jobId}.html): images inline as data URIs, no
/// scripts or network, so it opens from a download or a blob URL alike. Numbers are printed with
/// <see cref="Number"/> so tests can compare them with the manifest.
/// </summary>
public static class ReviewPage
{

    /// <summary>The one number format on the page (invariant, 4 decimals).</summary>
    private static string E(string s) => WebUtility.HtmlEncode(s);

    public static string Number(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    /// <summary>The classifier's three likeliest classes for the source, "Bag 0.52, Sneaker 0.31, ...".</summary>
    private static string Candidates(ImageScore score) => string.Join(", ", Enumerable.Range(0, Math.Min(score.Probabilities.Length, score.ClassNames.Count))
        .OrderByDescending(k => score.Probabilities[k]).Take(3).Select(k => $"{score.ClassNames[k]} {Number(score.Probabilities[k])}"));

    public static string Render(ReviewManifest m, ReadOnlySpan<byte> sourceImage, IReadOnlyDictionary<int, byte[]> images)
    {
        var sb = new StringBuilder();
        var score = m.Classifier.Scores;
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">")
          .Append($"<title>Review {E(m.JobId)}</title><style>")
          .Append("body{font-family:system-ui,sans-serif;margin:1.5rem;background:#fafafa;color:#222}")
          .Append(".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:1rem}")
          .Append("figure{margin:0;padding:.6rem;background:#fff;border:1px solid #ddd;border-radius:6px}")
          .Append("figure.inconsistent{border-color:#c33} img{width:100%;image-rendering:pixelated;background:#000}")
          .Append("dl{display:grid;grid-template-columns:auto minmax(0,1fr);gap:.1rem .6rem;font-size:.85rem;margin:.4rem 0 0}dt{color:#666}dd{margin:0;overflow-wrap:anywhere}")
          .Append(".source{max-width:220px} .mark{font-weight:bold} .ok{color:#171} .bad{color:#c33}")
          .Append("blockquote{margin:.4rem 0;padding:.5rem .8rem;background:#fff;border-left:4px solid #58a} .note{color:#666;font-size:.85rem}")
          .Append("</style></head><body>\n");
        sb.Append($"<h1>Longtail batch <code id=\"job-id\">{E(m.JobId)}</code></h1>\n");
        sb.Append("<section id=\"source\"><h2>Source</h2><figure class=\"source\">")
          .Append($"<img id=\"source-image\" alt=\"source {E(m.Source.Name)}\" src=\"data:image/png;base64,{Convert.ToBase64String(sourceImage)}\">")
          .Append("<dl>")
          .Append($"<dt>blob</dt><dd id=\"source-name\">{E(m.Source.Container)}/{E(m.Source.Name)}</dd>")
          .Append($"<dt>predicted</dt><dd id=\"source-label\">{E(score.PredictedLabel)}</dd>")
          .Append($"<dt>candidates</dt><dd id=\"source-candidates\">{E(Candidates(score))}</dd>")
          .Append($"<dt>confirmed class</dt><dd id=\"source-confirmed\">{E(m.SourceConfirmedClass ?? "not confirmed")}</dd>")
          .Append($"<dt>{E(score.SignalName)}</dt><dd id=\"source-signal\">{Number(score.Signal)}</dd>")
          .Append($"<dt>threshold</dt><dd id=\"threshold\">{Number(m.Classifier.Threshold)}</dd>")
          .Append($"<dt>classifier</dt><dd id=\"classifier-version\">{E(m.Classifier.Version)}</dd>")
          .Append($"<dt>diffusion</dt><dd id=\"diffusion-model\">{E(m.Diffusion.Model)}</dd>")
          .Append("</dl></figure></section>\n");
        if (m.Introspection is { } intro)
        {
            // Model output is untrusted text: encoded like every other value (and the CSP allows no scripts anyway).
            string by = string.Join(", ", new[] { intro.Deployment, intro.Model, intro.EndpointHost }.Where(v => !string.IsNullOrEmpty(v)).Select(v => E(v!)));
            sb.Append($"<section id=\"introspection\" data-status=\"{intro.Status.ToString().ToLowerInvariant()}\"><h2>Shared concept</h2>");
            sb.Append(intro.Status == IntrospectionStatus.Described
                ? $"<blockquote id=\"introspection-description\">{E(intro.Description ?? "")}</blockquote>"
                : $"<p id=\"introspection-error\" class=\"bad\">introspection failed: {E(intro.Error ?? "")}</p>");
            sb.Append($"<p class=\"note\">vision model: {by}</p></section>\n");
        }
        bool allInconsistent = m.Images.Count > 0 && m.Images.All(i => !i.Consistent);
        sb.Append($"<section><h2>Synthetic images ({m.Images.Count})</h2>");
        if (allInconsistent) sb.Append("<p id=\"all-inconsistent\" class=\"bad\">Every image here is inconsistent with its target class: this batch is not worth approving.</p>");
        sb.Append($"<p class=\"note\">The source's class is unknown (the classifier is unsure about it), so each image has a target class. " +
            $"Only a class you confirm reaches curated/: <code>coral review approve {E(m.JobId)} --set INDEX=CLASS</code>, <code>--class NAME</code> " +
            "or <code>--confirm-targets</code>.</p><div class=\"grid\" id=\"synthetic\">\n");
        foreach (var img in m.Images)
        {
            string cls = img.Consistent ? "synthetic" : "synthetic inconsistent";
            string png = images.TryGetValue(img.Index, out var bytes) ? Convert.ToBase64String(bytes) : "";
            sb.Append($"<figure class=\"{cls}\" data-index=\"{img.Index}\">")
              .Append($"<img alt=\"synthetic {img.Index}\" src=\"data:image/png;base64,{png}\">")
              .Append("<dl>")
              .Append($"<dt>target class</dt><dd class=\"class-name\">{E(img.ClassName)}</dd>")
              .Append($"<dt>confirmed</dt><dd class=\"confirmed-class\">{E(img.ConfirmedClass ?? "not confirmed")}</dd>")
              .Append($"<dt>p(class)</dt><dd class=\"class-prob\">{Number(img.ClassProbabilities.Length > img.ClassIndex ? img.ClassProbabilities[img.ClassIndex] : double.NaN)}</dd>")
              .Append(SignalRows(img))
              .Append($"<dt>consistent</dt><dd class=\"mark {(img.Consistent ? "ok" : "bad")}\" data-consistent=\"{(img.Consistent ? "true" : "false")}\">{(img.Consistent ? "✓ consistent" : "✗ inconsistent")}</dd>")
              .Append($"<dt>seed</dt><dd class=\"seed\">{img.Seed}</dd>")
              .Append($"<dt>status</dt><dd class=\"status\">{img.Status.ToString().ToLowerInvariant()}</dd>")
              .Append("</dl></figure>\n");
        }
        sb.Append("</div></section>\n");
        if (m.DroppedCandidates is { Count: > 0 } dropped)
        {
            sb.Append($"<section id=\"dropped\"><h2>Dropped candidates ({dropped.Count})</h2><table><tr><th>class</th><th>seed</th><th>signal</th><th>why</th></tr>\n");
            foreach (var d in dropped)
                sb.Append($"<tr><td>{E(d.ClassName)}</td><td>{d.Seed}</td><td>{Number(d.SignalAfter)}</td><td class=\"reason\">{E(d.Reason)}</td></tr>\n");
            sb.Append("</table></section>\n");
        }
        // The manifest itself, for tools; the serializer escapes '<', so it cannot close the element early.
        sb.Append("<script type=\"application/json\" id=\"manifest\">")
          .Append(JsonSerializer.Serialize(m, PipelineJson.Options))
          .Append("</script>\n</body></html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// The signal on one footing: the same seed sampled without guidance against the guided image (both scored by the
    /// guide the same way), and the measure that was never optimised. Without evidence only the guided value is known:
    /// the source's score came from another scorer on another image, so it is not shown as "before".
    /// </summary>
    private static string SignalRows(ManifestImage img)
    {
        if (img.Evidence is not { } ev)
            return $"<dt>signal</dt><dd class=\"signal-after\">{Number(img.SignalAfter)}</dd>";
        var sb = new StringBuilder();
        sb.Append($"<dt>{E(ev.Signal)}</dt><dd class=\"signal\">")
          .Append(ev.SignalUnguided is double u ? $"<span class=\"signal-unguided\">{Number(u)}</span> unguided → " : "")
          .Append($"<span class=\"signal-after\">{Number(ev.SignalAfter)}</span> guided</dd>");
        if (ev.HeldOutSignal is { } h && ev.HeldOutAfter is double ha)
            sb.Append($"<dt>{E(h)} (not optimised)</dt><dd class=\"held-out\">")
              .Append(ev.HeldOutUnguided is double hu ? $"{Number(hu)} unguided → " : "")
              .Append($"{Number(ha)} guided</dd>");
        sb.Append($"<dt>class check</dt><dd class=\"consistency-by\">{E(ev.ConsistencyBy)}{(ev.ModelClass is { } mc ? $": {E(mc)}" : "")}</dd>")
          .Append($"<dt>kept</dt><dd class=\"reason\">{E(ev.Reason)}</dd>");
        return sb.ToString();
    }
}
