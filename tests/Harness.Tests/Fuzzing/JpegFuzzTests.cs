using System.Runtime.InteropServices;
using CsCheck;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Tests.Imaging;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.Fuzzing;

/// <summary>
/// Mutated JPEGs through <see cref="JpegDecoder"/> (libjpeg-turbo underneath) and through <see cref="ImageBatchLoader"/>,
/// the path every dataset image takes. ImageNet copies contain damaged files, and libjpeg is C code reading
/// attacker-shaped lengths, so the properties are: the process survives, the only exception is the documented
/// <see cref="ImageDecodeException"/> naming the file, a decoded image is consistent, and decoding thousands of
/// broken files leaves no memory behind (TurboJPEG handles and managed buffers are freed on every error path).
/// </summary>
/// <remarks>
/// Seeds: small sample images (baseline 4:2:0), the golden grayscale, Adobe CMYK and YCCK files, and progressive and
/// arithmetic-coded re-encodings made here with TurboJPEG, so that libjpeg's progressive and arithmetic decoders are
/// fuzzed too. Mutations aim half the time at the headers before the first scan's data (markers, tables, sizes).
/// In the serial collection because it measures process-wide resident memory.
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed partial class JpegFuzzTests : IClassFixture<JpegFuzzTests.Seeds>
{
    private const int DecodeIterations = 20000;
    private const int WarmUpIterations = 1000;
    private const int LoaderBatches = 100;
    private const int LoaderBatchSize = 4;

    private readonly Seeds _seeds;
    private readonly ITestOutputHelper _output;

    public JpegFuzzTests(Seeds seeds, ITestOutputHelper output) => (_seeds, _output) = (seeds, output);

    /// <summary>One fuzz case: which seed file, and the edits made to it.</summary>
    public sealed record Case(int Seed, Mutation[] Mutations);

    /// <summary>Byte-level edits plus JPEG-specific ones: stray or doubled markers (SOI, SOF, SOS, DHT, DQT, DRI, RST, EOI).</summary>
    private static readonly Gen<Mutation> JpegMutation = Gen.Frequency(
        (6, Mutations.Any()),
        (1, Gen.Select(Gen.Int[0, int.MaxValue], Gen.OneOf<byte>(0xD8, 0xD9, 0xDA, 0xC0, 0xC1, 0xC2, 0xC4, 0xC9, 0xCC, 0xDB,
                0xDD, 0xD0, 0xD7, 0xE0, 0xEE, 0xFE, 0x00, 0xFF), Gen.Bool,
            (p, marker, overwrite) => overwrite
                ? (Mutation)new SetInteger(p, 2, 0xFF00UL | marker, BigEndian: true) { Focus = true }
                : new InsertBytes(p, [0xFF, marker]) { Focus = true })));

    private Gen<Case> Cases => Gen.Select(Gen.Int[0, _seeds.Files.Count - 1], JpegMutation.Array[1, 4], (s, m) => new Case(s, m));

    private byte[] Mutate(Case c) => Mutations.ApplyAll(_seeds.Files[c.Seed].Bytes, c.Mutations, _seeds.Files[c.Seed].HeaderLength);

    private string Describe(Case c, string test) =>
        $"seed file {_seeds.Files[c.Seed].Name}: {Mutations.Describe(c.Mutations)}; input saved as " +
        FuzzRunner.SaveFailingInput(test, Mutate(c), ".jpeg");

    [Fact]
    public void MutatedJpegsDecodeOrRaiseImageDecodeExceptionWithoutGrowingMemory()
    {
        var outcomes = new Outcomes();
        var largest = (Width: 0, Height: 0);
        void Property(Case c)
        {
            var name = $"fuzz/{_seeds.Files[c.Seed].Name}";
            try
            {
                string? warning = null;
                var image = JpegDecoder.Decode(Mutate(c), name, w => warning = w);
                Assert.True(image.Width > 0 && image.Height > 0, $"decoded an empty {image.Width}x{image.Height} image");
                if ((long)image.Width * image.Height > (long)largest.Width * largest.Height) largest = (image.Width, image.Height);
                Assert.Equal((long)image.Width * image.Height * 3, image.Pixels.LongLength);
                Assert.Equal(name, image.Source);
                outcomes.Add(warning is null ? "decoded" : "decoded with a libjpeg warning");
            }
            catch (ImageDecodeException e)
            {
                Assert.Equal(name, e.ImageSource);
                Assert.StartsWith($"cannot decode image '{name}': ", e.Message);
                outcomes.Add("ImageDecodeException");
            }
        }

        var iterations = FuzzRunner.Iterations(DecodeIterations);
        const string test = nameof(JpegFuzzTests);
        FuzzRunner.RunWithoutGrowth(test, 1, Cases, Property, iterations, WarmUpIterations, c => Describe(c, test), "JpegDecoder.Decode", _output);

        _output.WriteLine($"JpegDecoder.Decode, {iterations} mutated files from {_seeds.Files.Count} seeds: {outcomes}; " +
                          $"largest decoded image {largest.Width}x{largest.Height}");
        Assert.True(outcomes["ImageDecodeException"] > 0 && outcomes["decoded"] + outcomes["decoded with a libjpeg warning"] > 0,
            $"the mutations should produce both decodable and undecodable files: {outcomes}");
    }

    [Fact]
    public void MutatedJpegFilesBecomeCountedIssuesInTheLoader()
    {
        var folder = Directory.CreateTempSubdirectory("mipin-jpeg-fuzz-").FullName;
        try
        {
            var outcomes = new Outcomes();
            var batch = Cases.Array[LoaderBatchSize];
            var number = 0;
            void Property(Case[] cases)
            {
                var records = new List<ImageRecord>();
                foreach (var c in cases)
                {
                    var id = $"fuzz_{number++:D5}";
                    var path = Path.Combine(folder, id + ".JPEG");
                    File.WriteAllBytes(path, Mutate(c));
                    records.Add(new ImageRecord(id, path, 0, "n00000000", [], null, null));
                }
                var issues = new List<DataIssue>();
                var loaded = ImageBatchLoader.Load(records, PreprocessConfig.ImageNet, Device.CPU, issues);
                using (loaded.Images)
                {
                    Assert.Equal(records.Count, loaded.Records.Count + issues.Count);
                    Assert.Equal(new long[] { loaded.Records.Count, 3, 224, 224 }, loaded.Images.shape);
                }
                foreach (var issue in issues)
                {
                    Assert.Contains(issue.File, records.Select(r => r.ImagePath));
                    Assert.False(string.IsNullOrWhiteSpace(issue.Reason));
                    outcomes.Add("issue");
                }
                for (var i = 0; i < loaded.Records.Count; i++) outcomes.Add("loaded");
                foreach (var record in records) File.Delete(record.ImagePath);
            }

            const string test = nameof(JpegFuzzTests) + "-loader";
            FuzzRunner.Run(test, 2, batch, Property, 0, FuzzRunner.Iterations(LoaderBatches),
                cases => string.Join(" | ", cases.Select(c => Describe(c, test))));
            _output.WriteLine($"ImageBatchLoader.Load, {FuzzRunner.Iterations(LoaderBatches)} batches of {LoaderBatchSize}: {outcomes}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The seed files, read once per test class.</summary>
    public sealed class Seeds
    {
        /// <summary>Seed name, bytes, and the length of the part before the first scan's entropy-coded data.</summary>
        public sealed record SeedFile(string Name, byte[] Bytes, int HeaderLength);

        public Seeds()
        {
            var files = new List<SeedFile>();
            // The smallest sample images keep an iteration cheap; they are all baseline YCbCr 4:2:0.
            var samples = new DirectoryInfo(SampleImages.Folder).GetFiles("*.JPEG").OrderBy(f => f.Length).ThenBy(f => f.Name).Take(6).ToList();
            foreach (var file in samples) files.Add(Seed(file.Name, File.ReadAllBytes(file.FullName)));

            using (var golden = StateDict.Load(TestPaths.Fixture("Golden", "imaging.safetensors")))
                foreach (var name in new[] { "gray.jpeg", "cmyk.jpeg", "ycck.jpeg" })
                    files.Add(Seed(name, golden[name].ToArray<byte>()));

            // A 96×80 crop of the first sample re-encoded in the modes libjpeg decodes with other code.
            var source = JpegDecoder.Decode(samples[0].FullName);
            var crop = Crop(source, 96, 80);
            files.Add(Seed("progressive-420.jpeg", Encode(crop, Subsampling420, Progressive)));
            files.Add(Seed("progressive-gray.jpeg", Encode(crop, SubsamplingGray, Progressive)));
            files.Add(Seed("arithmetic-422.jpeg", Encode(crop, Subsampling422, Arithmetic)));
            files.Add(Seed("progressive-arithmetic-444.jpeg", Encode(crop, Subsampling444, Progressive | Arithmetic)));
            Files = files;
        }

        public IReadOnlyList<SeedFile> Files { get; }

        private static SeedFile Seed(string name, byte[] bytes) => new(name, bytes, HeaderLength(bytes));

        // Walks the marker segments up to the first SOS and returns the offset just past its header.
        private static int HeaderLength(byte[] jpeg)
        {
            var i = 2;
            while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF)
            {
                var length = (jpeg[i + 2] << 8) | jpeg[i + 3];
                if (jpeg[i + 1] == 0xDA) return Math.Min(jpeg.Length, i + 2 + length);
                i += 2 + length;
            }
            throw new InvalidDataException("seed JPEG without a start-of-scan marker");
        }

        private static RgbImage Crop(RgbImage image, int width, int height)
        {
            var pixels = new byte[width * height * 3];
            for (var y = 0; y < height; y++)
                image.Pixels.AsSpan(y * image.Width * 3, width * 3).CopyTo(pixels.AsSpan(y * width * 3));
            return new RgbImage(width, height, pixels, image.Source);
        }

        private const int Subsampling444 = 0, Subsampling422 = 1, Subsampling420 = 2, SubsamplingGray = 3;
        private const int Progressive = 16384, Arithmetic = 32768; // TJFLAG_PROGRESSIVE, TJFLAG_ARITHMETIC

        private static unsafe byte[] Encode(RgbImage image, int subsampling, int flags)
        {
            var handle = tjInitCompress();
            Assert.NotEqual(0, handle);
            byte* jpeg = null;
            try
            {
                nuint size = 0;
                fixed (byte* src = image.Pixels)
                {
                    var rc = tjCompress2(handle, src, image.Width, 0, image.Height, 0 /* TJPF_RGB */, &jpeg, &size, subsampling, 85, flags);
                    Assert.True(rc == 0, $"TurboJPEG could not encode the {subsampling}/{flags} seed");
                }
                return new ReadOnlySpan<byte>(jpeg, checked((int)size)).ToArray();
            }
            finally
            {
                if (jpeg != null) tjFree(jpeg);
                tjDestroy(handle);
            }
        }
    }

    // The encoder options JpegEncoder does not offer (it writes baseline 4:4:4 only); same library as the decoder.
    [LibraryImport("libturbojpeg.so.0")] private static partial nint tjInitCompress();
    [LibraryImport("libturbojpeg.so.0")] private static partial int tjDestroy(nint handle);
    [LibraryImport("libturbojpeg.so.0")] private static unsafe partial void tjFree(byte* buffer);

    [LibraryImport("libturbojpeg.so.0")]
    private static unsafe partial int tjCompress2(nint handle, byte* srcBuf, int width, int pitch, int height, int pixelFormat,
        byte** jpegBuf, nuint* jpegSize, int jpegSubsamp, int jpegQual, int flags);
}
