using Coral.Data;
using Coral.Imaging;
using Coral.Ml.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Coral.Ml.Classification;

/// <summary>Test accuracy of one fine-tuned classifier: overall, mean over the tail classes, per class.</summary>
public sealed record RetrainScore(double Overall, double Tail, double[] PerClass);

/// <summary>
/// Retraining comparisons: add images (generated, approved, augmented, oversampled) to a training set, fine-tune a
/// copy of the deployed classifier (member 0) on it, score it on the test set. Every arm gets the same schedule, so
/// only the added data differs.
/// </summary>
public static class FineTuning
{
    /// <summary>
    /// Fine-tuning settings. <paramref name="Cosine"/>: the learning rate decays from <paramref name="LearningRate"/> to 0
    /// over all steps (half a cosine) instead of staying constant, so the final weights are not one noisy Adam step.
    /// <paramref name="LogitAdjustment"/> τ > 0 trains with the logit-adjusted loss CE(z + τ·log π, y), π the training
    /// set's class frequencies (Menon et al. 2021): the long-tail correction that needs no extra images.
    /// </summary>
    public sealed record Options(int Epochs = 1, int BatchSize = 128, double LearningRate = 5e-4, int Seed = 0, bool Cosine = false, double LogitAdjustment = 0);

    /// <summary>Learning rate of step <paramref name="step"/> of <paramref name="totalSteps"/> (0-based).</summary>
    public static double LearningRateAt(Options o, int step, int totalSteps) =>
        !o.Cosine || totalSteps <= 1 ? o.LearningRate : o.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * step / (totalSteps - 1)));

    /// <summary>Training set plus generated images (quantised to 8 bits, as their PNGs would be).</summary>
    public static LabeledImages Append(LabeledImages data, IReadOnlyList<ImageTensor> images, IReadOnlyList<int> labels)
    {
        if (images.Count != labels.Count) throw new ArgumentException($"{images.Count} images for {labels.Count} labels");
        int per = data.PixelsPerImage;
        var pixels = new byte[(data.Count + images.Count) * per];
        data.Pixels.CopyTo(pixels, 0);
        for (int i = 0; i < images.Count; i++)
        {
            var im = images[i];
            if (im.Channels != data.Channels || im.Height != data.Height || im.Width != data.Width)
                throw new ArgumentException($"generated image {i} is {im.Channels}x{im.Height}x{im.Width}, the data is {data.Channels}x{data.Height}x{data.Width}");
            ImageCodec.Quantize(im, pixels.AsSpan((data.Count + i) * per, per));
        }
        return new LabeledImages(pixels, [.. data.Labels, .. labels], data.Channels, data.Height, data.Width, data.ClassNames);
    }

    /// <summary><paramref name="n"/> indices per class of <paramref name="classes"/>, drawn with replacement from <paramref name="candidates"/> of that class.</summary>
    public static int[] DrawPerClass(LabeledImages data, IReadOnlyList<int> candidates, IReadOnlyList<int> classes, int n, int seed)
    {
        var rng = new Random(seed);
        var result = new List<int>();
        foreach (var k in classes)
        {
            var ofClass = candidates.Where(i => data.Labels[i] == k).ToArray();
            if (ofClass.Length == 0) throw new ArgumentException($"no image of class {data.ClassNames[k]} to draw from");
            for (int j = 0; j < n; j++) result.Add(ofClass[rng.Next(ofClass.Length)]);
        }
        return [.. result];
    }

    /// <summary>Classical augmentations (<see cref="ClassicalAugmentation"/>) of the images at <paramref name="indices"/>, with their labels, quantised to 8 bits.</summary>
    public static LabeledImages Augmented(LabeledImages data, IReadOnlyList<int> indices, int seed)
    {
        var images = new List<ImageTensor>(indices.Count);
        foreach (var chunk in indices.Chunk(256))
        {
            using var scope = NewDisposeScope();
            var x = ImageBatches.Images(data, chunk);
            var seeds = chunk.Select((_, j) => (long)Seeding.Derive(seed, images.Count + j)).ToArray();
            var y = ClassicalAugmentation.Apply(x, seeds).contiguous();
            var all = y.data<float>().ToArray();
            int per = data.PixelsPerImage;
            for (int j = 0; j < chunk.Length; j++) images.Add(new ImageTensor(all[(j * per)..((j + 1) * per)], data.Channels, data.Height, data.Width));
        }
        var empty = data.Subset([]);
        return Append(empty, images, [.. indices.Select(i => data.Labels[i])]);
    }

    /// <summary>A trainable copy of <paramref name="start"/> fine-tuned with Adam (constant rate) on <paramref name="train"/>.</summary>
    public static SmallCnn FineTune(SmallCnn start, LabeledImages train, Options o)
    {
        Seeding.Set(Seeding.Derive(o.Seed, 4242));
        var model = new SmallCnn(start.Config);
        model.load_state_dict(start.state_dict());
        using var opt = optim.Adam(model.parameters(), lr: o.LearningRate);
        model.train();
        using var adjust = ClassificationMath.LogitAdjustment(train.CountsPerClass(), o.LogitAdjustment);
        int perEpoch = (train.Count + o.BatchSize - 1) / o.BatchSize, total = perEpoch * o.Epochs, step = 0;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            var order = Seeding.Permutation(train.Count, Seeding.Derive(o.Seed, 977, epoch));
            foreach (var idx in ImageBatches.Chunks(train.Count, o.BatchSize, order))
            {
                using var scope = NewDisposeScope();
                if (o.Cosine)
                    foreach (var g in opt.ParamGroups) g.LearningRate = LearningRateAt(o, step, total);
                step++;
                opt.zero_grad();
                var logits = model.forward(ImageBatches.Images(train, idx));
                var loss = ClassificationMath.CrossEntropy(logits, ImageBatches.Labels(train, idx), adjust);
                loss.backward();
                opt.step();
            }
        }
        model.eval();
        return model;
    }

    public static RetrainScore Evaluate(SmallCnn model, LabeledImages test, IReadOnlyList<int> tailClasses)
    {
        var predicted = new int[test.Count];
        int done = 0;
        foreach (var idx in ImageBatches.Chunks(test.Count, 500))
        {
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            var p = model.forward(ImageBatches.Images(test, idx)).argmax(-1).to(ScalarType.Int32).data<int>().ToArray();
            p.CopyTo(predicted, done);
            done += idx.Length;
        }
        var (overall, perClass) = ClassificationMath.Accuracy(predicted, test.Labels, test.NumClasses);
        return new RetrainScore(overall, tailClasses.Average(k => perClass[k]), perClass);
    }
}
