namespace Coral.Imaging;

/// <summary>Lays equal-sized tiles out row by row on a background, for sample grids and review pages.</summary>
public static class ImageGrid
{
    /// <param name="tiles">Same size and channel count, at least one.</param>
    /// <param name="columns">Tiles per row; the grid is always this wide, even with fewer tiles.</param>
    /// <param name="padding">Pixels between tiles and around the edge.</param>
    /// <param name="background">Value in [0, 1] for every channel of the gaps (1 = white).</param>
    public static ImageTensor Compose(IReadOnlyList<ImageTensor> tiles, int columns, int padding = 2, float background = 1f)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        if (tiles.Count == 0) throw new ArgumentException("need at least one tile", nameof(tiles));
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (!(background is >= 0f and <= 1f)) throw new ArgumentOutOfRangeException(nameof(background), background, "background must be in [0, 1]");
        var first = tiles[0];
        ImageCodec.CheckTensor(first, nameof(tiles));
        int c = first.Channels, th = first.Height, tw = first.Width;
        for (int i = 1; i < tiles.Count; i++)
        {
            ImageCodec.CheckTensor(tiles[i], nameof(tiles));
            if (tiles[i].Channels != c || tiles[i].Height != th || tiles[i].Width != tw)
                throw new ArgumentException($"tile {i} is [{tiles[i].Channels},{tiles[i].Height},{tiles[i].Width}] but tile 0 is [{c},{th},{tw}]", nameof(tiles));
        }

        int rows = (tiles.Count + columns - 1) / columns;
        long gw = (long)columns * tw + (columns + 1L) * padding, gh = (long)rows * th + (rows + 1L) * padding;
        if (gw * gh * c > Array.MaxLength) throw new ArgumentException($"grid of {gw}x{gh} is too large", nameof(tiles));
        int width = (int)gw, height = (int)gh, plane = width * height;
        var data = new float[c * plane];
        Array.Fill(data, background);
        for (int t = 0; t < tiles.Count; t++)
        {
            int x0 = padding + (t % columns) * (tw + padding), y0 = padding + (t / columns) * (th + padding);
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < th; y++)
                    Array.Copy(tiles[t].Data, (ch * th + y) * tw, data, ch * plane + (y0 + y) * width + x0, tw);
        }
        return new ImageTensor(data, c, height, width);
    }
}
