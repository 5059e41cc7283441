namespace Coral.Diffusion.Networks;

/// <summary>
/// Floating-point operations of one U-Net forward pass for one image, counted from the config the way
/// <see cref="UNet"/> builds itself (2 per multiply-add; convolutions, linears and attention matmuls; norms and
/// activations, a few percent, left out). Benchmarks divide achieved FLOP/s by the measured matmul roof.
/// </summary>
public static class UNetCost
{
    public static double ForwardFlops(UNetConfig c)
    {
        int ch = c.BaseChannels, emb = c.TimeEmbeddingChannels, last = c.Multipliers.Length - 1;
        double r = c.Resolution;
        double f = 2.0 * (ch * emb + emb * emb) + Conv(c.ImageChannels, ch, 3, r);
        var skips = new Stack<int>();
        skips.Push(ch);
        int now = ch;
        for (int i = 0; i <= last; i++)
        {
            int outCh = ch * c.Multipliers[i];
            for (int k = 0; k < c.ResBlocksPerLevel; k++) { f += Res(now, outCh, emb, r, i == last); now = outCh; skips.Push(now); }
            if (i != last) { r /= 2; f += Conv(now, now, 3, r); skips.Push(now); }
        }
        f += Res(now, now, emb, r, true) + Res(now, now, emb, r, false);
        for (int i = last; i >= 0; i--)
        {
            int outCh = ch * c.Multipliers[i];
            for (int k = 0; k <= c.ResBlocksPerLevel; k++) { f += Res(skips.Pop() + now, outCh, emb, r, i == last); now = outCh; }
            if (i != 0) { r *= 2; f += Conv(now, now, 3, r); }
        }
        return f + Conv(now, c.ImageChannels, 3, r);
    }

    private static double Conv(int cin, int cout, int k, double r) => 2.0 * cin * cout * k * k * r * r;

    private static double Res(int cin, int cout, int emb, double r, bool attention) =>
        Conv(cin, cout, 3, r) + 2.0 * emb * cout + Conv(cout, cout, 3, r) + (cin != cout ? Conv(cin, cout, 1, r) : 0)
        + (attention ? Conv(cout, 3 * cout, 1, r) + Conv(cout, cout, 1, r) + 2 * 2.0 * (r * r) * (r * r) * cout : 0);
}
