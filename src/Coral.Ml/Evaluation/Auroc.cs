namespace Coral.Ml.Evaluation;

/// <summary>Area under the ROC curve, for "does a higher score detect the positives?".</summary>
public static class Auroc
{
    /// <summary>
    /// AUROC = P(score of a random positive > score of a random negative), ties counting ½
    /// (Mann–Whitney U with mid-ranks). NaN when either class is empty.
    /// </summary>
    public static double Compute(IReadOnlyList<float> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores for {positive.Count} labels");
        int n = scores.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        double rankSumPos = 0;
        long nPos = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            double midRank = (i + j) / 2.0 + 1; // ranks are 1-based
            for (int t = i; t <= j; t++) if (positive[order[t]]) { rankSumPos += midRank; nPos++; }
            i = j + 1;
        }
        long nNeg = n - nPos;
        if (nPos == 0 || nNeg == 0) return double.NaN;
        return (rankSumPos - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }

    /// <summary>
    /// 95 % interval of an AUROC by the Hanley–McNeil (1982) standard error:
    /// SE² = (A(1−A) + (n₊−1)(Q1−A²) + (n₋−1)(Q2−A²)) / (n₊n₋), Q1 = A/(2−A), Q2 = 2A²/(1+A); clipped to [0, 1].
    /// </summary>
    public static (double Low, double High) Interval(double auroc, long positives, long negatives)
    {
        if (double.IsNaN(auroc) || positives == 0 || negatives == 0) return (double.NaN, double.NaN);
        double a = auroc, q1 = a / (2 - a), q2 = 2 * a * a / (1 + a);
        double se = Math.Sqrt(Math.Max(0, (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / ((double)positives * negatives)));
        return (Math.Max(0, a - 1.96 * se), Math.Min(1, a + 1.96 * se));
    }

    /// <summary>"better than chance", "worse than chance" or "no better than chance", by whether the interval excludes 0.5.</summary>
    public static string Verdict(double low, double high) =>
        double.IsNaN(low) ? "undefined (one class empty)" : low > 0.5 ? "better than chance" : high < 0.5 ? "worse than chance" : "no better than chance";

    /// <summary>ROC curve points (false-positive rate, true-positive rate), thresholds from high to low.</summary>
    public static (double[] Fpr, double[] Tpr) Curve(IReadOnlyList<float> scores, IReadOnlyList<bool> positive)
    {
        int n = scores.Count;
        var order = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ToArray();
        long nPos = positive.Count(p => p), nNeg = n - nPos;
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        long tp = 0, fp = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j < n && scores[order[j]] == scores[order[i]]) { if (positive[order[j]]) tp++; else fp++; j++; }
            fpr.Add(nNeg == 0 ? 0 : (double)fp / nNeg);
            tpr.Add(nPos == 0 ? 0 : (double)tp / nPos);
            i = j;
        }
        return (fpr.ToArray(), tpr.ToArray());
    }
}
