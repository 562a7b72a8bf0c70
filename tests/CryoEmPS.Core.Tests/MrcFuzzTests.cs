using System.Diagnostics;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The MRC reader against hostile files (issue 15): every mutant is read or refused with a CryoEmPS ErrorId, never a foreign
/// exception, and nothing is allocated beyond what the file's length supports. The default run reads a few hundred mutants;
/// the Expensive run reads 10,000 and prints the table by ErrorId with the peak memory:
///     dotnet test tests/CryoEmPS.Core.Tests -c Release --filter "FullyQualifiedName~MrcFuzzTests" --logger "console;verbosity=detailed"
/// </summary>
public class MrcFuzzTests
{
    private readonly ITestOutputHelper _out;

    public MrcFuzzTests(ITestOutputHelper output) => _out = output;

    [Fact]
    public void OverflowFamilyIsRefusedAsInvalidDimensions()
    {
        var dir = Directory.CreateTempSubdirectory("cryoemps-fuzz");
        try
        {
            var fuzz = new MrcFuzz(1);
            foreach (var bytes in fuzz.OverflowMutants())
            {
                fuzz.Run(Path.Combine(dir.FullName, "o.mrc"), bytes);
            }
            _out.WriteLine(fuzz.Table());
            Assert.Empty(fuzz.Foreign);
            Assert.Equal(new[] { "MrcInvalidDimensions" }, fuzz.Counts.Keys);
            Assert.Equal(60, fuzz.Mutants);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void SeededMutantsGiveOnlyCryoEmPsErrorIds() => RunMutants(seed: 20251, count: 300, assertMemory: false);

    [Fact]
    [Trait("Category", "Expensive")]
    public void TenThousandMutantsGiveOnlyCryoEmPsErrorIdsInUnderOneGigabyte() => RunMutants(seed: 15, count: 10_000, assertMemory: true);

    private void RunMutants(ulong seed, int count, bool assertMemory)
    {
        var dir = Directory.CreateTempSubdirectory("cryoemps-fuzz");
        try
        {
            var fuzz = new MrcFuzz(seed);
            foreach (var bytes in fuzz.OverflowMutants())
            {
                fuzz.Run(Path.Combine(dir.FullName, "o.mrc"), bytes);
            }
            while (fuzz.Mutants < count)
            {
                fuzz.Run(Path.Combine(dir.FullName, "m.mrc"), fuzz.Mutant());
            }
            using var process = Process.GetCurrentProcess();
            process.Refresh();
            long peak = process.PeakWorkingSet64;
            _out.WriteLine(fuzz.Table());
            _out.WriteLine($"foreign exceptions: {fuzz.Foreign.Count}; slowest read {fuzz.SlowestSeconds:0.###} s; " +
                $"peak working set of the test process {peak / 1e6:0} MB");
            foreach (var line in fuzz.Foreign)
            {
                _out.WriteLine(line);
            }
            Assert.Empty(fuzz.Foreign);
            Assert.True(fuzz.Counts.GetValueOrDefault("ok") > 0, "some mutants must still read");
            Assert.True(fuzz.Counts.Keys.Count(k => k.StartsWith("Mrc", StringComparison.Ordinal)) >= 4, fuzz.Table());
            if (assertMemory)
            {
                Assert.True(peak < 1_000_000_000, $"peak working set {peak} bytes");
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
