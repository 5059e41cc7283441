namespace Coral.Imaging;

/// <summary>
/// One decoded image as a channel-first float buffer [C, H, W] with values in [0, 1]
/// (C = 1 grayscale or 3 RGB). Free of any torch dependency so the imaging code stays light.
/// </summary>
public sealed record ImageTensor(float[] Data, int Channels, int Height, int Width)
{
    public int Length => Channels * Height * Width;
}
