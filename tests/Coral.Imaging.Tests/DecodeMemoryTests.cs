using Coral.Imaging;

namespace Coral.Imaging.Tests;

/// <summary>
/// Compressed images just under the pixel limit ("memory bombs") headed for a small output: memory is bounded by the
/// decode budget, not by the input, and nothing stays allocated afterwards.
/// </summary>
public class DecodeMemoryTests
{
    /// <summary>A w×h gray PNG, black on the left half and white on the right (compresses to a few KB).</summary>
    private static byte[] HalfWhitePng(int w, int h)
    {
        var px = new float[w * h];
        for (int y = 0; y < h; y++) for (int x = w / 2; x < w; x++) px[y * w + x] = 1;
        return ImageCodec.EncodePng(new ImageTensor(px, 1, h, w));
    }

    [Fact]
    public void A_large_png_for_a_small_output_is_reduced_in_bytes_and_keeps_its_content()
    {
        var png = HalfWhitePng(4800, 4800);
        png.Length.Should().BeLessThan(200_000, "a memory bomb: small file, 92 MB of RGBA");
        var budget = new DecodeBudget(256L << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var im = ImageCodec.Decode(png, new ImageDecodeOptions { Width = 28, Height = 28, Channels = 1, Budget = budget }, "bomb.png");
        long managed = GC.GetAllocatedBytesForCurrentThread() - before;

        im.Width.Should().Be(28);
        im.Data[0].Should().BeApproximately(0, 0.01f);
        im.Data[27].Should().BeApproximately(1, 0.01f);
        managed.Should().BeLessThan(16L << 20, "the full image never becomes a managed array or floats (it was ~92 MB of RGBA plus ~92 MB of floats)");
        budget.PeakBytes.Should().Be(4800L * 4800 * 4, "the RGBA was reserved from the budget");
        budget.InUseBytes.Should().Be(0, "and released");
    }

    [Fact]
    public async Task A_burst_of_bombs_shares_the_budget_and_memory_returns_to_the_baseline()
    {
        var png = HalfWhitePng(4000, 4000);
        long one = 4000L * 4000 * 4;
        var budget = new DecodeBudget(2 * one + one / 2);   // two at a time
        var options = new ImageDecodeOptions { Width = 28, Height = 28, Channels = 1, Budget = budget };
        ImageCodec.Decode(png, options, "warm-up.png");
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long baseline = Environment.WorkingSet;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => ImageCodec.Decode(png, options, $"bomb-{i}.png"))));

        results.Should().OnlyContain(r => r.Width == 28 && r.Height == 28);
        budget.PeakBytes.Should().BeLessThanOrEqualTo(2 * one, "never more than the budget's two images at once");
        budget.InUseBytes.Should().Be(0);
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        (Environment.WorkingSet - baseline).Should().BeLessThan(one, "the native RGBA is freed at once: nothing of eight 64 MB images stays resident");
    }

    [Fact]
    public void An_image_above_the_whole_budget_is_refused_with_a_typed_error_naming_it()
    {
        var png = HalfWhitePng(3000, 3000);
        var act = () => ImageCodec.Decode(png, new ImageDecodeOptions { Width = 28, Height = 28, Budget = new DecodeBudget(8L << 20) }, "huge.png");
        act.Should().Throw<DecodeBudgetExceededException>().Which.Message.Should().StartWith("huge.png: decoding needs 34 MiB, above the decode budget of 8 MiB");
    }

    [Fact]
    public void Small_images_take_the_plain_path()
    {
        // 256×256 → 28×28 is far below the streaming threshold: no reservation at all.
        var budget = new DecodeBudget(1L << 20);
        ImageCodec.Decode(HalfWhitePng(256, 256), new ImageDecodeOptions { Width = 28, Height = 28, Budget = budget }, "small.png").Width.Should().Be(28);
        budget.PeakBytes.Should().Be(0);
    }
}
