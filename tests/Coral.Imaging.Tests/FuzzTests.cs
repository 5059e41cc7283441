using System.Diagnostics;
using Coral.Imaging;
using Xunit.Abstractions;

namespace Coral.Imaging.Tests;

/// <summary>
/// Mutated valid files (bit flips, truncations, insertions, deletions, splices; seeded) either decode
/// to a well-formed tensor or fail with an <see cref="ImageDecodeException"/>: nothing else, no crash, no hang.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int Inputs = 3600;
    // A hang guard, not a speed target: generous for a shared 2-core machine.
    private static readonly TimeSpan PerInputBound = TimeSpan.FromSeconds(10);

    private static List<byte[]> Corpus()
    {
        var rgb = TestImages.Gradient(12, 16);
        var noise = TestImages.Random8Bit(3, 12, 16, seed: 11);
        var gray = TestImages.Random8Bit(1, 12, 16, seed: 12);
        return
        [
            TestImages.Png(rgb), TestImages.Png(gray), TestImages.Jpeg(noise), TestImages.Jpeg(rgb, 50),
            TestImages.Bmp(noise), TestImages.Gif(gray, TestImages.Random8Bit(1, 12, 16, seed: 13)),
            TestImages.WebpLossless(noise), TestImages.WebpLossy(rgb), TestImages.Ico(rgb),
        ];
    }

    private static byte[] Mutate(byte[] source, List<byte[]> corpus, Random rng)
    {
        var b = (byte[])source.Clone();
        switch (rng.Next(7))
        {
            case 0: // a few bit flips anywhere
                for (int n = rng.Next(1, 9); n > 0; n--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1: // bit flips in the header, where sizes and types live
                for (int n = rng.Next(1, 4); n > 0; n--) b[rng.Next(Math.Min(64, b.Length))] ^= (byte)(1 << rng.Next(8));
                return b;
            case 2: // boundary values over a byte
                byte[] interesting = [0x00, 0xFF, 0x7F, 0x80, 0x01];
                b[rng.Next(b.Length)] = interesting[rng.Next(interesting.Length)];
                return b;
            case 3: // truncation
                return b[..rng.Next(b.Length)];
            case 4: // insertion of random bytes
            {
                int at = rng.Next(b.Length + 1);
                var junk = new byte[rng.Next(1, 64)];
                rng.NextBytes(junk);
                return [.. b.AsSpan(0, at), .. junk, .. b.AsSpan(at)];
            }
            case 5: // deletion of a range
            {
                int at = rng.Next(b.Length), len = rng.Next(1, Math.Min(64, b.Length - at) + 1);
                return [.. b.AsSpan(0, at), .. b.AsSpan(at + len)];
            }
            default: // splice: the head of this file with the tail of another
            {
                var other = corpus[rng.Next(corpus.Count)];
                return [.. b.AsSpan(0, rng.Next(b.Length + 1)), .. other.AsSpan(rng.Next(other.Length))];
            }
        }
    }

    [Fact]
    public void Mutated_inputs_decode_or_fail_with_an_image_decode_exception()
    {
        var corpus = Corpus();
        var rng = new Random(20261123);
        int decoded = 0;
        var errors = new Dictionary<string, int>();
        var failures = new List<string>();
        var clock = new Stopwatch();
        for (int i = 0; i < Inputs; i++)
        {
            var input = Mutate(corpus[i % corpus.Count], corpus, rng);
            // Small pixel limit: a mutated header may claim a large canvas; decoding one is slow, not wrong.
            var options = new ImageDecodeOptions
            {
                Channels = i % 2 == 0 ? 3 : 1,
                Width = i % 5 == 0 ? 8 : null,
                Height = i % 5 == 0 ? 8 : null,
                MaxPixels = 250_000,
            };
            clock.Restart();
            try
            {
                var image = i % 3 == 0
                    ? ImageCodec.Decode(new TestImages.NonSeekable(new MemoryStream(input)), options, $"fuzz-{i}")
                    : ImageCodec.Decode(input, options, $"fuzz-{i}");
                if (image.Data.Length != image.Length || image.Channels != options.Channels || image.Data.Any(v => !(v >= 0f && v <= 1f)))
                    failures.Add($"input {i}: malformed tensor [{image.Channels},{image.Height},{image.Width}]");
                decoded++;
            }
            catch (ImageDecodeException e)
            {
                if (!e.Message.StartsWith($"fuzz-{i}: ", StringComparison.Ordinal)) failures.Add($"input {i}: message does not name the source: {e.Message}");
                errors[e.GetType().Name] = errors.GetValueOrDefault(e.GetType().Name) + 1;
            }
            catch (Exception e)
            {
                failures.Add($"input {i}: {e.GetType().Name}: {e.Message}");
            }
            if (clock.Elapsed > PerInputBound) failures.Add($"input {i}: took {clock.Elapsed.TotalSeconds:F1} s");
        }

        output.WriteLine($"{Inputs} inputs: {decoded} decoded; " + string.Join(", ", errors.OrderBy(e => e.Key).Select(e => $"{e.Key} {e.Value}")));
        failures.Should().BeEmpty();
        decoded.Should().BeGreaterThan(0, "some mutations leave a decodable image");
        errors.Values.Sum().Should().BeGreaterThan(Inputs / 10, "most mutations break something");
    }
}
