namespace Coral.Diffusion.Networks;

/// <summary>Shape of the class-conditional U-Net (pytorch-ddpm lineage). Serialised into checkpoints and model cards.</summary>
public sealed record UNetConfig
{
    public int ImageChannels { get; init; } = 1;
    public int Resolution { get; init; } = 28;
    public int BaseChannels { get; init; } = 32;
    public int[] Multipliers { get; init; } = [1, 2, 2];
    public int ResBlocksPerLevel { get; init; } = 1;
    public double Dropout { get; init; } = 0.1;
    public int NumClasses { get; init; } = 10;

    /// <summary>Channels of the middle block, where the CORAL projection head attaches.</summary>
    public int MiddleChannels => BaseChannels * Multipliers[^1];
    public int TimeEmbeddingChannels => BaseChannels * 4;

    public void Validate()
    {
        if (ImageChannels < 1) throw new DiffusionInputException("image-channels", $"must be ≥ 1, got {ImageChannels}");
        if (BaseChannels < 8 || BaseChannels % 8 != 0) throw new DiffusionInputException("channels", $"must be a positive multiple of 8, got {BaseChannels}");
        if (Multipliers.Length < 1 || Multipliers.Any(m => m < 1)) throw new DiffusionInputException("multipliers", "need at least one positive multiplier");
        if (ResBlocksPerLevel < 1) throw new DiffusionInputException("res-blocks", $"must be ≥ 1, got {ResBlocksPerLevel}");
        if (Dropout < 0 || Dropout >= 1) throw new DiffusionInputException("dropout", $"must be in [0, 1), got {Dropout}");
        if (NumClasses < 1) throw new DiffusionInputException("classes", $"must be ≥ 1, got {NumClasses}");
        if (Resolution % (1 << (Multipliers.Length - 1)) != 0)
            throw new DiffusionInputException("resolution", $"{Resolution} is not divisible by 2^{Multipliers.Length - 1} (one halving per extra level)");
    }
}
