using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Coral.Diffusion.Networks;

/// <summary>Result of one U-Net pass: the ε prediction and the middle-block (bottleneck) features CORAL projects.</summary>
public readonly record struct UNetOutput(Tensor Epsilon, Tensor Middle);

/// <summary>
/// Class-conditional ε-prediction U-Net. The class embedding (with an extra "null" row for classifier-free
/// guidance) is added to the time embedding; self-attention sits at the lowest resolution and in the middle block.
/// </summary>
public sealed class UNet : Module
{
    private readonly Linear time1;
    private readonly Linear time2;
    private readonly Embedding classEmb;
    private readonly Conv2d head;
    private readonly ModuleList<UNetLayer> down = new();
    private readonly ModuleList<UNetLayer> middle = new();
    private readonly ModuleList<UNetLayer> up = new();
    private readonly GroupNorm tailNorm;
    private readonly Conv2d tail;

    public UNet(UNetConfig config) : base(nameof(UNet))
    {
        config.Validate();
        Config = config;
        int ch = config.BaseChannels, emb = config.TimeEmbeddingChannels, last = config.Multipliers.Length - 1;
        time1 = Linear(ch, emb);
        time2 = Linear(emb, emb);
        classEmb = Embedding(config.NumClasses + 1, emb);
        head = Conv2d(config.ImageChannels, ch, 3, padding: 1);

        var skips = new Stack<int>();
        skips.Push(ch);
        int now = ch;
        for (int i = 0; i <= last; i++)
        {
            int outCh = ch * config.Multipliers[i];
            for (int r = 0; r < config.ResBlocksPerLevel; r++)
            {
                down.Add(new ResBlock(now, outCh, emb, config.Dropout, attention: i == last));
                now = outCh;
                skips.Push(now);
            }
            if (i != last) { down.Add(new Downsample(now)); skips.Push(now); }
        }
        middle.Add(new ResBlock(now, now, emb, config.Dropout, attention: true));
        middle.Add(new ResBlock(now, now, emb, config.Dropout, attention: false));
        for (int i = last; i >= 0; i--)
        {
            int outCh = ch * config.Multipliers[i];
            for (int r = 0; r <= config.ResBlocksPerLevel; r++)
            {
                up.Add(new ResBlock(skips.Pop() + now, outCh, emb, config.Dropout, attention: i == last));
                now = outCh;
            }
            if (i != 0) up.Add(new Upsample(now));
        }
        tailNorm = UNetLayer.Norm(now);
        tail = Conv2d(now, config.ImageChannels, 3, padding: 1);
        RegisterComponents();
    }

    public UNetConfig Config { get; }

    /// <summary>Label value meaning "no class" (dropped label / unconditional branch of guidance).</summary>
    public long NullLabel => Config.NumClasses;

    /// <summary>ε̂(x_t, t, y). <paramref name="labels"/> may hold <see cref="NullLabel"/>.</summary>
    public Tensor Epsilon(Tensor x, Tensor t, Tensor labels)
    {
        var o = Forward(x, t, labels);
        o.Middle.Dispose();
        return o.Epsilon;
    }

    public UNetOutput Forward(Tensor x, Tensor t, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var temb = time2.call(functional.silu(time1.call(TimestepEmbedding(t, Config.BaseChannels))));
        var emb = temb + classEmb.call(labels.to(ScalarType.Int64));
        var h = head.call(x);
        var hs = new Stack<Tensor>();
        hs.Push(h);
        foreach (var layer in down) { h = layer.Forward(h, emb); hs.Push(h); }
        foreach (var layer in middle) h = layer.Forward(h, emb);
        var mid = h;
        foreach (var layer in up)
        {
            if (layer is ResBlock) h = cat([h, hs.Pop()], 1);
            h = layer.Forward(h, emb);
        }
        var eps = tail.call(functional.silu(tailNorm.call(h)));
        return new UNetOutput(eps.MoveToOuterDisposeScope(), mid.MoveToOuterDisposeScope());
    }

    /// <summary>Sinusoidal embedding of integer timesteps (Transformer / DDPM form), shape [B, dim].</summary>
    public static Tensor TimestepEmbedding(Tensor t, int dim)
    {
        using var scope = NewDisposeScope();
        int half = dim / 2;
        var freqs = exp(arange(half, ScalarType.Float32) * (-Math.Log(10_000) / (half - 1)));
        var args = t.to(ScalarType.Float32)[.., TensorIndex.None] * freqs[TensorIndex.None, ..];
        return cat([sin(args), cos(args)], 1).MoveToOuterDisposeScope();
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());
}
