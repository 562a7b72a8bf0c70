using CryoEmPS.Core.Reconstruction;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The held-out choice of the returned map (<see cref="HeldOutSelection"/>): the per-patch shift between stages and the
/// one-standard-error rule, on hand-made values whose answers are worked out here.
/// </summary>
public class HeldOutSelectionTests
{
    [Fact]
    public void TheStandardErrorIsThatOfThePairedDifferences()
    {
        // Differences −0.1, +0.1, −0.3, +0.1: mean −0.05, sample variance (0.0025 + 0.0225 + 0.0625 + 0.0225)/3 = 0.11/3,
        // standard error √(0.11/3/4) = 0.0957…; −0.05 ≥ −0.0957 → within.
        var top = new[] { 1.0, 2.0, 3.0, 4.0 };
        var close = new[] { 0.9, 2.1, 2.7, 4.1 };
        Assert.True(HeldOutSelection.WithinOneStandardError(close, top));
        // The same differences shifted by −0.1: mean −0.15 < −0.0957 → outside.
        Assert.False(HeldOutSelection.WithinOneStandardError(close.Select(v => v - 0.1).ToArray(), top));
        // Equal spread but a large offset between patches does not matter: the test is paired.
        var offsetPatches = new[] { 1001.0, -998.0, 3003.0, 4.0 };
        var shifted = offsetPatches.Zip(close.Zip(top, (c, t) => c - t), (o, d) => o + d).ToArray();
        Assert.True(HeldOutSelection.WithinOneStandardError(shifted, offsetPatches));
    }

    [Fact]
    public void ALaterMapWithinTheNoiseIsReturnedAndAClearlyWorseOneIsNot()
    {
        var selection = new HeldOutSelection();
        // Stage 1: iteration 0 is no candidate; iteration 1 is the first map, so top and best.
        selection.Add(0, new[] { -10.0, -12.0, -11.0, -9.0 }, candidate: false);
        Assert.Equal(-1, selection.Best);
        selection.Add(1, new[] { -9.0, -11.0, -10.0, -8.0 }, candidate: true);
        Assert.Equal((1, 1), (selection.Top, selection.Best));
        // Slightly lower on average, within one standard error: best moves on, the top stays.
        selection.Add(2, new[] { -9.1, -10.9, -10.3, -7.9 }, candidate: true);
        Assert.Equal((1, 2), (selection.Top, selection.Best));
        // Clearly lower on every patch: neither moves.
        selection.Add(3, new[] { -10.0, -12.0, -11.0, -9.0 }, candidate: true);
        Assert.Equal((1, 2), (selection.Top, selection.Best));
        // Higher: top and best.
        double score = selection.Add(4, new[] { -8.0, -10.0, -9.0, -7.0 }, candidate: true);
        Assert.Equal((4, 4), (selection.Top, selection.Best));
        Assert.Equal(-8.5, score, 12);
        Assert.Equal(new[] { -1, 1, 2, 2, 4 }, selection.BestAfter);
    }

    [Fact]
    public void EachStageIsShiftedPatchByPatchOntoTheScaleOfTheMapItWasHanded()
    {
        var selection = new HeldOutSelection();
        selection.Add(0, new[] { -5.0, -6.0 }, candidate: false);
        selection.Add(1, new[] { -4.0, -5.0 }, candidate: true);
        // Stage 2's grid scores the handed-on map (row 1: −4, −5) at −6, −8: offsets −2 and −3 per patch.
        double first = selection.Add(0, new[] { -6.0, -8.0 }, candidate: false);
        Assert.Equal(-4.5, first, 12);
        // A stage-2 map at −5.5, −7.5 is −3.5, −4.5 on stage 1's scale: better on both patches, so the new top.
        double next = selection.Add(1, new[] { -5.5, -7.5 }, candidate: true);
        Assert.Equal(-4.0, next, 12);
        Assert.Equal((3, 3), (selection.Top, selection.Best));
    }

    [Fact]
    public void ALaterStageIsTakenOnlyWhenItScoresHigher()
    {
        var selection = new HeldOutSelection();
        selection.Add(0, new[] { -5.0, -6.0, -7.0 }, candidate: false);
        selection.Add(1, new[] { -4.0, -5.0, -6.0 }, candidate: true);
        // Stage 2 scores its handed-on map as it was (no shift), then a map a little lower, within one standard error of the top.
        selection.Add(0, new[] { -4.0, -5.0, -6.0 }, candidate: false);
        selection.Add(1, new[] { -4.1, -4.9, -6.1 }, candidate: true);
        Assert.True(HeldOutSelection.WithinOneStandardError(new[] { -4.1, -4.9, -6.1 }, new[] { -4.0, -5.0, -6.0 }));
        // The top is stage 1's map, so stage 2's tie does not replace it.
        Assert.Equal((1, 1), (selection.Top, selection.Best));
        // A stage-2 map above the top does; a later stage-2 map within its standard error then follows it.
        selection.Add(2, new[] { -3.9, -4.9, -5.9 }, candidate: true);
        Assert.Equal((4, 4), (selection.Top, selection.Best));
        selection.Add(3, new[] { -4.0, -4.8, -6.0 }, candidate: true);
        Assert.Equal((4, 5), (selection.Top, selection.Best));
    }

    [Fact]
    public void RowsMustScoreTheSamePatches()
    {
        var selection = new HeldOutSelection();
        selection.Add(0, new[] { -1.0, -2.0 }, candidate: false);
        Assert.Throws<ArgumentException>(() => selection.Add(1, new[] { -1.0 }, candidate: true));
    }
}
