using System.Management.Automation;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Commands;

/// <summary>New-RotationSet: a near-uniform grid on SO(3), uniform random rotations, or rotations from RELION Euler angles.</summary>
[Cmdlet(VerbsCommon.New, "RotationSet", DefaultParameterSetName = GridSet)]
[OutputType(typeof(RotationSet))]
public sealed class NewRotationSetCommand : CryoEmCmdlet
{
    private const string GridSet = "Grid";
    private const string RandomSet = "Random";
    private const string EulerSet = "EulerAngle";

    /// <summary>K, the number of rotations.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = GridSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = RandomSet)]
    [ValidateRange(1, 10_000_000)]
    public int Count { get; set; }

    /// <summary>Draw uniform random rotations instead of the grid.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RandomSet)]
    public SwitchParameter Random { get; set; }

    /// <summary>Seed of the random draw (drawn and stored on the set when absent).</summary>
    [Parameter(ParameterSetName = RandomSet)]
    public int Seed { get; set; }

    /// <summary>Rows of RELION (rot, tilt, psi) in degrees.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EulerSet)]
    [ValidateNotNullOrEmpty]
    public double[][] EulerAngle { get; set; } = Array.Empty<double[]>();

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case GridSet:
                var grid = RotationGrid.SuperFibonacci(Count);
                WriteVerbose($"Super-Fibonacci grid: K = {grid.Count} (asked {Count}).");
                WriteObject(grid);
                break;
            case RandomSet:
                int seed = MyInvocation.BoundParameters.ContainsKey(nameof(Seed)) ? Seed : DrawSeed();
                WriteVerbose($"{Count} uniform random rotations, seed {seed}.");
                WriteObject(RotationGrid.Random(Count, seed));
                break;
            default:
                var rows = EulerAngle;
                // One row given without the unary comma binds as three 1-element rows: accept a flat list of triples.
                if (rows.All(row => row != null && row.Length == 1) && rows.Length % 3 == 0)
                {
                    rows = Enumerable.Range(0, rows.Length / 3)
                        .Select(i => new[] { rows[3 * i][0], rows[3 * i + 1][0], rows[3 * i + 2][0] })
                        .ToArray();
                }
                var badRow = Array.FindIndex(rows, row => row == null || row.Length != 3);
                if (badRow >= 0)
                {
                    Fail($"-EulerAngle row {badRow} has {rows[badRow]?.Length ?? 0} numbers; " +
                        $"each row must be (rot, tilt, psi) in degrees, e.g. -EulerAngle @(0, 90, 0), @(45, 30, 10).",
                        "EulerAngleBadRow", ErrorCategory.InvalidArgument, rows[badRow]);
                }
                var angles = new double[rows.Length, 3];
                for (int i = 0; i < rows.Length; i++)
                {
                    for (int j = 0; j < 3; j++)
                    {
                        angles[i, j] = rows[i][j];
                    }
                }
                RotationSet? set = null;
                try
                {
                    set = RotationGrid.FromEulerAngles(angles);
                }
                catch (ArgumentException ex)
                {
                    Fail(ex, "EulerAngleInvalid", ErrorCategory.InvalidArgument, EulerAngle);
                }
                WriteObject(set);
                break;
        }
    }
}
