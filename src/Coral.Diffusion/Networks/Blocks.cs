using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Coral.Diffusion.Networks;

/// <summary>A U-Net layer that sees the feature map and the (time + class) embedding.</summary>
public abstract class UNetLayer(string name) : Module(name)
{
    public abstract Tensor Forward(Tensor h, Tensor emb);

    /// <summary>GroupNorm with up to 8 groups (32 is too many for 32-channel layers).</summary>
    internal static GroupNorm Norm(int channels)
    {
        var gn = GroupNorm(channels % 8 == 0 ? 8 : 1, channels);
        // TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (garbage/NaN outputs): set γ=1, β=0.
        using var noGrad = no_grad();
        gn.weight!.fill_(1);
        gn.bias!.zero_();
        return gn;
    }
}

/// <summary>GN→SiLU→conv, + embedding projection, GN→SiLU→dropout→conv, residual; optional self-attention after.</summary>
public sealed class ResBlock : UNetLayer
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear embProj;
    private readonly GroupNorm norm2;
    private readonly Dropout drop;
    private readonly Conv2d conv2;
    private readonly Module<Tensor, Tensor> skip;
    private readonly AttentionBlock? attn;

    public ResBlock(int inCh, int outCh, int embCh, double dropout, bool attention) : base(nameof(ResBlock))
    {
        norm1 = Norm(inCh);
        conv1 = Conv2d(inCh, outCh, 3, padding: 1);
        embProj = Linear(embCh, outCh);
        norm2 = Norm(outCh);
        drop = Dropout(dropout);
        conv2 = Conv2d(outCh, outCh, 3, padding: 1);
        skip = inCh == outCh ? Identity() : Conv2d(inCh, outCh, 1);
        attn = attention ? new AttentionBlock(outCh) : null;
        RegisterComponents();
    }

    public override Tensor Forward(Tensor h, Tensor emb)
    {
        using var scope = NewDisposeScope();
        var a = conv1.call(functional.silu(norm1.call(h)));
        a = a + embProj.call(functional.silu(emb)).view(a.shape[0], a.shape[1], 1, 1);
        a = conv2.call(drop.call(functional.silu(norm2.call(a))));
        var outp = a + skip.call(h);
        if (attn is not null) outp = attn.call(outp);
        return outp.MoveToOuterDisposeScope();
    }
}

/// <summary>Single-head self-attention over spatial positions (used only at the lowest resolution: cost is quadratic).</summary>
public sealed class AttentionBlock : Module<Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly Conv2d qkv;
    private readonly Conv2d proj;

    public AttentionBlock(int ch) : base(nameof(AttentionBlock))
    {
        norm = UNetLayer.Norm(ch);
        qkv = Conv2d(ch, ch * 3, 1);
        proj = Conv2d(ch, ch, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], hh = x.shape[2], ww = x.shape[3];
        var parts = qkv.call(norm.call(x)).reshape(b, 3, c, hh * ww).unbind(1);
        var q = parts[0].transpose(1, 2);           // [B, N, C]
        var k = parts[1];                           // [B, C, N]
        var v = parts[2].transpose(1, 2);           // [B, N, C]
        var w = functional.softmax(q.bmm(k) / Math.Sqrt(c), 2);
        var o = w.bmm(v).transpose(1, 2).reshape(b, c, hh, ww);
        return (x + proj.call(o)).MoveToOuterDisposeScope();
    }
}

public sealed class Downsample : UNetLayer
{
    private readonly Conv2d conv;
    public Downsample(int ch) : base(nameof(Downsample)) { conv = Conv2d(ch, ch, 3, stride: 2, padding: 1); RegisterComponents(); }
    public override Tensor Forward(Tensor h, Tensor emb) => conv.call(h);
}

public sealed class Upsample : UNetLayer
{
    private readonly Conv2d conv;
    public Upsample(int ch) : base(nameof(Upsample)) { conv = Conv2d(ch, ch, 3, padding: 1); RegisterComponents(); }
    public override Tensor Forward(Tensor h, Tensor emb)
    {
        using var up = functional.interpolate(h, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.call(up);
    }
}
