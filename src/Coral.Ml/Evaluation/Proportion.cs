namespace Coral.Ml.Evaluation;

/// <summary>Intervals for a share of n independent yes/no outcomes.</summary>
public static class Proportion
{
    /// <summary>Wilson score interval (95 %) for a share p of n: stays inside [0, 1] and is honest at 0 or n hits.</summary>
    public static (double Low, double High) Wilson(double p, int n, double z = 1.959963984540054)
    {
        if (n <= 0) return (0, 1);
        double z2 = z * z, denom = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / denom;
        double half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
