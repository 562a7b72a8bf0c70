using CryoEmPS.Core.IO;

namespace CryoEmPS.Core.Tests;

/// <summary>CtfFile: CTFFIND4 stacks and the name-matching rule (the readers' round trips are in tests/pester/Ctf.Tests.ps1).</summary>
public class CtfFileTests
{
    private const string Ctffind = """
        # Output from CTFFind version 4.1.14, run on 2023-02-02 15:13:07
        # Input file: stack.mrcs ; Number of micrographs: 2
        # Pixel size: 1.000 Angstroms ; acceleration voltage: 200.0 keV ; spherical aberration: 2.26 mm ; amplitude contrast: 0.07
        # Columns: #1 - micrograph number; #2 - defocus 1 [Angstroms]; #3 - defocus 2; #4 - azimuth of astigmatism; #5 - additional phase shift [radians]; #6 - cross correlation; #7 - spacing (in Angstroms) up to which CTF rings were fit successfully
        1.000000 9982.502930 9982.502930 0.000000 0.000000 0.565683 1.980663
        2.000000 12000.0 11000.0 10.000000 3.141592653589793 0.5 3.0
        """;

    [Fact]
    public void CtffindStackRowsAreNamedNAtFile()
    {
        var entries = CtfFile.Parse(Ctffind, "test.txt");
        Assert.Equal(new[] { "1@stack.mrcs", "2@stack.mrcs" }, entries.Select(e => e.MicrographName));
        Assert.Equal(180, entries[1].Ctf.PhaseShift, 1e-9);
        Assert.Equal(200, entries[1].Ctf.Voltage);
        Assert.Equal(2.26, entries[1].Ctf.SphericalAberration);
        var second = Assert.Single(CtfFile.Find(entries, "2@/data/stack.mrcs", "stack"));
        Assert.Equal(12000, second.Ctf.DefocusU);
    }

    [Fact]
    public void MatchingTakesTheFirstRuleThatMatches()
    {
        var ctf = new Ctf(10000, 10000, 0, 300, 2.7, 0.1, 1);
        var entries = new[]
        {
            new CtfEntry("MotionCorr/job002/a.mrc", ctf), new CtfEntry("Other/a.mrc", ctf.WithPixelSize(2)),
            new CtfEntry("MotionCorr/job002/b.mrc", ctf), new CtfEntry("c.tif", ctf),
        };
        Assert.Equal(entries[0], Assert.Single(CtfFile.Find(entries, "/p/MotionCorr/job002/a.mrc", "x")));
        Assert.Equal(2, CtfFile.Find(entries, "/q/a.mrc", null).Count);
        Assert.Equal(entries[2], Assert.Single(CtfFile.Find(entries, null, "b.mrc")));
        Assert.Equal(entries[3], Assert.Single(CtfFile.Find(entries, "/x/c.mrc", "")));
        Assert.Empty(CtfFile.Find(entries, "/x/d.mrc", "d"));
        Assert.Empty(CtfFile.Find(entries, "1@/x/b.mrcs", null));
    }
}
