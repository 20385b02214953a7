namespace Icdiff.Imaging.Skia;

/// <summary>Magic numbers of the formats we expect, to tell a corrupt image from a file that is not one.</summary>
internal static class ImageSignatures
{
    public static bool LooksLikeImage(ReadOnlySpan<byte> data) =>
        data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || data.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47])
        || data.StartsWith("GIF8"u8)
        || data.StartsWith("BM"u8)
        || (data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8));
}
