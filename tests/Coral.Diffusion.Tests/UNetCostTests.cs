using Coral.Diffusion.Networks;

namespace Coral.Diffusion.Tests;

public class UNetCostTests
{
    [Fact]
    public void Forward_flops_match_a_hand_count()
    {
        // One level, 8 channels, 4×4 gray, attention at the (only) level; counted by hand below.
        var c = new UNetConfig { ImageChannels = 1, Resolution = 4, BaseChannels = 8, Multipliers = [1], NumClasses = 2 };
        double time = 2 * (8 * 32 + 32 * 32), head = 2 * 1 * 8 * 9 * 16, tail = head;
        double conv88 = 2 * 8 * 8 * 9 * 16, emb = 2 * 32 * 8, attn = 2 * 8 * 24 * 16 + 2 * 8 * 8 * 16 + 2 * 2 * 16 * 16 * 8;
        double resAtt = 2 * conv88 + emb + attn, res = 2 * conv88 + emb;
        double upRes = 2 * 16 * 8 * 9 * 16 + conv88 + emb + 2 * 16 * 8 * 16 + attn;   // 16 in (skip concat), 1×1 skip conv
        UNetCost.ForwardFlops(c).Should().Be(time + head + resAtt + resAtt + res + 2 * upRes + tail);
    }

    [Fact]
    public void Cost_grows_with_the_image_area()
    {
        var small = new UNetConfig { Resolution = 16 };
        var big = small with { Resolution = 32 };
        double ratio = UNetCost.ForwardFlops(big) / UNetCost.ForwardFlops(small);
        ratio.Should().BeInRange(3.9, 4.6, "convolutions scale with area; attention at the lowest level a little faster");
    }
}
