using Coral.Pipeline.Contracts;
using Coral.Pipeline.Generation;

namespace Coral.Pipeline.Tests;

public class TargetClassesTests
{
    private static ImageScore Score(params float[] p) => new(Array.IndexOf(p, p.Max()), "x", p, [.. Enumerable.Range(0, p.Length).Select(i => $"c{i}")], "s", 1);

    [Fact]
    public void A_plausible_runner_up_gets_half_of_the_images()
    {
        TargetClasses.Plan(Score(0.1f, 0.5f, 0.4f), 8).Should().Equal((1, 4), (2, 4));
        // The extra image goes to the likelier class.
        TargetClasses.Plan(Score(0.1f, 0.5f, 0.4f), 7).Should().Equal((1, 4), (2, 3));
    }

    [Fact]
    public void A_confident_score_or_a_single_image_keeps_the_top_class_only()
    {
        TargetClasses.Plan(Score(0.9f, 0.06f, 0.04f), 8).Should().Equal((0, 8));
        TargetClasses.Plan(Score(0.1f, 0.5f, 0.4f), 1).Should().Equal((1, 1));
        TargetClasses.Plan(Score(0.1f, 0.5f, 0.4f), 8, maxClasses: 1).Should().Equal((1, 8));
    }
}
