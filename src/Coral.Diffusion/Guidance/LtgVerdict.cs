using System.Text.Json.Nodes;

namespace Coral.Diffusion.Guidance;

/// <summary>
/// The machine-readable verdict of an `eval ltg` report (its JSON, as written): the three targets of the issue
/// "Longtail Guidance that changes content", each with its measured value, interval and met/missed, and an overall status.
/// Read from the JSON so that a finished report can be summarised again without re-running it.
/// </summary>
public static class LtgVerdict
{
    public const double TargetTailPp = 2.0, TargetRiseSd = 1.0, TargetJudge = 0.9;

    public static JsonObject FromReport(JsonNode report)
    {
        var v = new JsonObject();
        var met = new List<bool>();
        if (report["retraining"]?["ltgMinusBestControl"] is JsonObject d)
        {
            double mean = d["mean"]!.GetValue<double>() * 100;
            var ci = d["ci95"]!.AsArray().Select(x => x!.GetValue<double>() * 100).ToArray();
            v["ltgMinusBestControlTailPp"] = mean;
            v["ltgMinusBestControlTailPpCi95"] = new JsonArray(ci[0], ci[1]);
            v["bestControl"] = d["versus"]!.GetValue<string>();
            v["ltgArm"] = report["retraining"]?["verdictArm"]?.GetValue<string>() ?? "ltg";
            v["retrainSeeds"] = d["perSeed"]!.AsArray().Count;
            v["tailTargetMet"] = mean >= TargetTailPp;
            met.Add(mean >= TargetTailPp);
        }
        if (report["consistency"] is JsonObject c)
        {
            if (c["heldOut"] is JsonObject h)
            {
                double rise = h["riseSd"]!.GetValue<double>();
                v["heldOutSignal"] = h["signal"]!.GetValue<string>();
                v["heldOutSignalRiseSd"] = rise;
                v["heldOutSignalRiseSdCi95"] = h["riseSdCi95"]!.DeepClone();
                v["heldOutTargetMet"] = rise >= TargetRiseSd;
                met.Add(rise >= TargetRiseSd);
            }
            if (c["judgeArgmax"] is JsonValue j)
            {
                double share = j.GetValue<double>();
                v["judgeConsistency"] = share;
                v["judgeConsistencyCi95"] = c["judgeArgmaxCi95"]?.DeepClone();
                v["unguidedJudgeConsistency"] = c["unguidedJudgeArgmax"]?.DeepClone();
                v["judgeTargetMet"] = share >= TargetJudge;
                met.Add(share >= TargetJudge);
            }
            v["defaultWeight"] = c["weight"]?.DeepClone();
        }
        v["targets"] = new JsonObject { ["ltgMinusBestControlTailPp"] = TargetTailPp, ["heldOutSignalRiseSd"] = TargetRiseSd, ["judgeConsistency"] = TargetJudge };
        v["status"] = met.Count < 3 ? "incomplete" : met.All(m => m) ? "met" : "missed";
        return v;
    }
}
