using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Volumes;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The real structure shipped in examples/ (issue 11, item 6): a PDB model (PDB data is CC0) that New-EmVolume -AtomicModel turns
/// into the second benchmark volume at L = 17.
/// </summary>
public class ExampleStructureTests
{
    /// <summary>The shipped model, its box and voxel size: 6 Å/voxel puts its farthest atom 6.2 px from its centre of mass.</summary>
    public const string FileName = "5cvz_final.pdb";
    public const int Size = 17;
    public const double VoxelSize = 6;

    private readonly ITestOutputHelper _out;
    public ExampleStructureTests(ITestOutputHelper output) => _out = output;

    /// <summary>examples/ of the repository this test was built from (found by walking up to CryoEmPS.sln).</summary>
    public static string PathOf(string file)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "CryoEmPS.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, "examples", file);
    }

    [Fact]
    public void ShippedModelLoadsAndGivesACompactNonEmptyDensityThatFillsTheBall()
    {
        string path = PathOf(FileName);
        Assert.True(File.Exists(path), $"{path} is missing: the example structure must be committed.");
        Assert.True(new FileInfo(path).Length < 200_000, "keep the shipped model small");
        var model = AtomicModel.Load(path);
        Assert.Equal(1061, model.Atoms.Count);
        var volume = model.ToVolume(Size, VoxelSize, 3 * VoxelSize, out var warnings);
        Assert.Empty(warnings);
        Assert.True(volume.Min() >= 0);
        Assert.True(volume.Max() > 0);
        int c = Size / 2;
        double all = 0, beyond = 0, outerShell = 0, farthest = 0;
        for (int z = 0; z < Size; z++)
        {
            for (int y = 0; y < Size; y++)
            {
                for (int x = 0; x < Size; x++)
                {
                    double r = Math.Sqrt((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c));
                    double v = volume[z, y, x];
                    all += v;
                    beyond += r > c ? v : 0;
                    outerShell += r > c - 3 && r <= c ? v : 0;
                    farthest = v > 1e-3 * volume.Max() ? Math.Max(farthest, r) : farthest;
                }
            }
        }
        _out.WriteLine($"mass beyond radius {c}: {beyond / all:P3}; in radius {c - 3}–{c}: {outerShell / all:P1}; " +
            $"density above 0.1 % of the peak reaches {farthest:0.0} px");
        // Compact: almost no mass outside the inscribed ball (measured 0.001 %). Fills it: the density reaches its edge (above
        // 0.1 % of the peak out to 7.9 px) and some mass lies in its outer 3 px (measured 3.5 %; the protein's radius of
        // gyration is 16 Å = 2.7 px, its farthest atom 37.4 Å = 6.2 px from the centre of mass).
        Assert.True(beyond / all < 1e-4, $"{beyond / all:P3} of the mass lies outside the inscribed ball");
        Assert.True(outerShell / all > 0.02, $"only {outerShell / all:P1} of the mass in the outer 3 px of the ball");
        Assert.InRange(farthest, c - 1, c + 0.5);
        // The model represents it to Nyquist at ℓmax 14 (measured: FSC 0.94 at shell 8).
        Assert.False(FourierBesselCeiling.Expansion(volume, 14).CrossesThreshold);
    }
}
