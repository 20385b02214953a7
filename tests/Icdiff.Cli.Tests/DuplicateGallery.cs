using System.Globalization;
using Icdiff.Synthesis;
using SkiaSharp;

namespace Icdiff.Cli.Tests;

/// <summary>
/// A tiny gallery in which several images exist more than once: byte copies under other names, and copies decoded and
/// written again as PNG with other encoder settings (other bytes, the same pixels), beside distinct fillers; and one
/// model's generated images made from the duplicated scenes (an exact copy, a rescaled re-encode, a mild edit) plus
/// fresh scenes. Every copy of a scene scores alike against any generated image, so which one is the best match is
/// decided by the tie rule alone.
/// </summary>
/// <remarks>
/// Names are chosen so that listing order is not key order: a folder lists its own files before its sub-folders, so
/// the root-level copy (<c>zz-...</c>, the largest key) is listed and indexed first and the smallest key lies in a
/// sub-folder. A rule of "first indexed wins" picks the largest key; only the key rule picks the smallest.
/// </remarks>
internal sealed record DuplicateGallery(string GalleryPath, string ShuffledManifest, string GeneratedPath, IReadOnlyList<IReadOnlyList<string>> Groups, IReadOnlyDictionary<string, int> GeneratedFrom)
{
    private const int Scenes = 4;
    private const int Fillers = 8;

    /// <summary>The group holding <paramref name="key"/>, or null for a gallery image without copies.</summary>
    public IReadOnlyList<string>? GroupOf(string key) => Groups.FirstOrDefault(g => g.Contains(key, StringComparer.Ordinal));

    /// <summary>
    /// Checks a run's <c>matches.csv</c>: every generated image made from a duplicated scene matched that scene, under
    /// the smallest key of its copies, and no match anywhere names a copy other than its group's smallest key.
    /// </summary>
    public void AssertMatchesTakeTheSmallestKey(IReadOnlyList<string> matchesCsv)
    {
        Assert.Equal("model,image,best_match,level,score,replica,other_rule_match,other_rule_level", matchesCsv[0]);
        var rows = matchesCsv.Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(GeneratedFrom.Count + 3, rows.Length);
        foreach (var row in rows)
        {
            var (image, match, level) = (row[1], row[2], int.Parse(row[3], CultureInfo.InvariantCulture));
            if (GeneratedFrom.TryGetValue(image, out var scene))
            {
                Assert.True(Groups[scene].Contains(match, StringComparer.Ordinal), $"{image} matched {match}, not a copy of scene {scene}");
                Assert.True(level >= 4, $"{image} matched its scene at level {level} only");
            }

            if (GroupOf(match) is { } group)
            {
                Assert.Equal(group.Min(StringComparer.Ordinal), match);
            }
        }
    }

    public static DuplicateGallery Build(string root)
    {
        var gallery = Directory.CreateDirectory(Path.Combine(root, "gallery")).FullName;
        var generated = Directory.CreateDirectory(Path.Combine(root, "generated")).FullName;
        var groups = new List<IReadOnlyList<string>>();
        var generatedFrom = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var s = 0; s < Scenes; s++)
        {
            // Scene 3 is a JPEG: its copies are byte copies only (a JPEG re-encode changes pixels).
            var jpeg = s == 3;
            var ext = jpeg ? "jpg" : "png";
            using var scene = SceneGenerator.Draw(5150 + s, 320 + (32 * s), 256);
            var original = Encode(scene, jpeg, SKPngEncoderFilterFlags.AllFilters, 2);
            var copies = new List<(string Key, byte[] Bytes)>
            {
                ($"zz-scene-{s}.{ext}", original),
                ($"photos/scene-{s}.{ext}", original),
                ($"mirror/{s}/scene.{ext}", original),
            };
            if (!jpeg)
            {
                using var decoded = SKBitmap.Decode(original);
                var reencoded = Encode(decoded, false, SKPngEncoderFilterFlags.NoFilters, 9);
                if (reencoded.AsSpan().SequenceEqual(original))
                {
                    throw new InvalidOperationException("the PNG re-encode gave the same bytes; it would not test a re-encoded copy.");
                }

                // The smallest key of even scenes is the re-encode, of odd scenes a byte copy.
                copies.Add((s % 2 == 0 ? $"archive/scene-{s}.png" : $"reencoded/scene-{s}.png", reencoded));
            }

            copies.Add(($"archive/{(s % 2 == 0 ? "x" : "a")}-scene-{s}.{ext}", original));
            foreach (var (key, bytes) in copies)
            {
                WriteFile(gallery, key, bytes);
            }

            groups.Add([.. copies.Select(c => c.Key)]);

            var random = new Random(5170 + s);
            WriteFile(generated, $"gen-{s}-exact.{ext}", original);
            generatedFrom[$"gen-{s}-exact.{ext}"] = s;
            using (var rescaled = ReplicaTransforms.Apply(scene, 5, random, 256, 256))
            {
                WriteFile(generated, $"gen-{s}-rescaled.jpg", Encode(rescaled, true, default, 0));
                generatedFrom[$"gen-{s}-rescaled.jpg"] = s;
            }

            using var edited = ReplicaTransforms.Apply(scene, 4, random, 256, 256);
            WriteFile(generated, $"gen-{s}-edited.png", Encode(edited, false, SKPngEncoderFilterFlags.AllFilters, 2));
            generatedFrom[$"gen-{s}-edited.png"] = s;
        }

        for (var f = 0; f < Fillers; f++)
        {
            using var filler = SceneGenerator.Draw(5160 + f, 288, 288);
            WriteFile(gallery, $"fillers/f{f}.png", Encode(filler, false, SKPngEncoderFilterFlags.AllFilters, 2));
        }

        for (var g = 0; g < 3; g++)
        {
            using var fresh = SceneGenerator.Draw(5180 + g, 256, 256);
            WriteFile(generated, $"fresh-{g}.png", Encode(fresh, false, SKPngEncoderFilterFlags.AllFilters, 2));
        }

        // The same gallery as a manifest in a shuffled order: another indexing order (and another gallery index).
        var keys = Directory.GetFiles(gallery, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(gallery, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
        new Random(5190).Shuffle(keys);
        var manifest = Path.Combine(root, "gallery-shuffled.csv");
        File.WriteAllLines(manifest, ["key,uri", .. keys.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k},gallery/{k}"))]);
        return new DuplicateGallery(gallery, manifest, generated, groups, generatedFrom);
    }

    private static void WriteFile(string folder, string key, byte[] bytes)
    {
        var path = Path.Combine(folder, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private static byte[] Encode(SKBitmap bitmap, bool jpeg, SKPngEncoderFilterFlags filters, int zlibLevel)
    {
        using var pixels = bitmap.PeekPixels() ?? throw new InvalidOperationException("bitmap has no pixels");
        using var data = jpeg
            ? pixels.Encode(new SKJpegEncoderOptions(90, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore))
            : pixels.Encode(new SKPngEncoderOptions(filters, zlibLevel));
        return data?.ToArray() ?? throw new InvalidOperationException("SkiaSharp could not encode a test image.");
    }
}
