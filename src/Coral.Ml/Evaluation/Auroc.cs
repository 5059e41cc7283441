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
