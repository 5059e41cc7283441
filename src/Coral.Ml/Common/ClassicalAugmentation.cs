using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Common;

/// <summary>
/// The cheap alternative to generated images: flips, small shifts, rotations and scalings of real images, the
/// standard recipe for small image classifiers. One random affine transform per image (bilinear, border padding),
/// drawn from its own generator so a copy does not depend on batching.
/// </summary>
public static class ClassicalAugmentation
{
    public const double MaxRotationDegrees = 10;
    public const double MaxShiftFraction = 0.08;   // ≈ 2 px at 28 px
    public const double MaxScaleChange = 0.1;
    public const double FlipProbability = 0.5;

    public static string Describe() =>
        $"horizontal flip p={FlipProbability}, rotation ±{MaxRotationDegrees}°, shift ±{MaxShiftFraction:P0}, scale ±{MaxScaleChange:P0} (bilinear, border padding)";

    /// <summary>Augmented copies of <paramref name="x01"/> [B, C, H, W] in [0, 1], copy i from seed <paramref name="seeds"/>[i].</summary>
    public static Tensor Apply(Tensor x01, IReadOnlyList<long> seeds)
    {
        long b = x01.shape[0];
        if (seeds.Count != b) throw new ArgumentException($"{b} images, {seeds.Count} seeds");
        using var scope = NewDisposeScope();
        var theta = new float[b * 6];
        for (int i = 0; i < b; i++)
        {
            var rng = new Random(unchecked((int)(seeds[i] ^ (seeds[i] >> 32))));
            double U() => rng.NextDouble() * 2 - 1;
            double angle = U() * MaxRotationDegrees * Math.PI / 180, scale = 1 + U() * MaxScaleChange;
            double flip = rng.NextDouble() < FlipProbability ? -1 : 1;
            double tx = U() * MaxShiftFraction * 2, ty = U() * MaxShiftFraction * 2;   // grid units: [−1, 1] spans the image
            double cos = Math.Cos(angle) / scale, sin = Math.Sin(angle) / scale;
            // Output pixel (x, y) samples the input at θ·(x, y, 1): flip the x axis, rotate, scale, shift.
            theta[i * 6 + 0] = (float)(cos * flip); theta[i * 6 + 1] = (float)-sin; theta[i * 6 + 2] = (float)tx;
            theta[i * 6 + 3] = (float)(sin * flip); theta[i * 6 + 4] = (float)cos; theta[i * 6 + 5] = (float)ty;
        }
        var grid = nn.functional.affine_grid(tensor(theta, [b, 2, 3]), [b, x01.shape[1], x01.shape[2], x01.shape[3]], align_corners: false);
        var y = nn.functional.grid_sample(x01, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        return y.clamp(0, 1).MoveToOuterDisposeScope();
    }
}
