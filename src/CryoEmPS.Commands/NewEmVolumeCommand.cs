using System.Management.Automation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// New-EmVolume: the built-in phantom (-Phantom) or a density map made from a PDB atomic model (-AtomicModel).
/// </summary>
[Cmdlet(VerbsCommon.New, "EmVolume", DefaultParameterSetName = PhantomSet)]
[OutputType(typeof(Volume))]
public sealed class NewEmVolumeCommand : CryoEmCmdlet
{
    private const string PhantomSet = "Phantom";
    private const string ModelSet = "AtomicModel";
    private const string ModelLiteralSet = "AtomicModelLiteral";

    /// <summary>Make the built-in phantom.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PhantomSet)]
    public SwitchParameter Phantom { get; set; }

    /// <summary>Path of a PDB file (wildcards allowed, must match one file).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ModelSet)]
    [ValidateNotNullOrEmpty]
    public string AtomicModel { get; set; } = "";

    /// <summary>Path of a PDB file, taken literally.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ModelLiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>Side L of the cubic box (voxels).</summary>
    [Parameter(ParameterSetName = PhantomSet)]
    [Parameter(Mandatory = true, ParameterSetName = ModelSet)]
    [Parameter(Mandatory = true, ParameterSetName = ModelLiteralSet)]
    [ValidateRange(5, 1024)]
    public int Size { get; set; } = 17;

    /// <summary>Seed of the phantom (default <see cref="Core.Volumes.Phantom.DefaultSeed"/>, the same volume every time).</summary>
    [Parameter(ParameterSetName = PhantomSet)]
    public int Seed { get; set; } = Core.Volumes.Phantom.DefaultSeed;

    /// <summary>Voxel size in Å. Phantom: default 0 (unknown). Atomic model: required.</summary>
    [Parameter(ParameterSetName = PhantomSet)]
    [Parameter(Mandatory = true, ParameterSetName = ModelSet)]
    [Parameter(Mandatory = true, ParameterSetName = ModelLiteralSet)]
    [ValidateRange(0.0, 1000.0)]
    public double VoxelSize { get; set; }

    /// <summary>Resolution in Å that sets the atoms' Gaussian width σ = 0.225 × resolution (default 3 × voxel size).</summary>
    [Parameter(ParameterSetName = ModelSet)]
    [Parameter(ParameterSetName = ModelLiteralSet)]
    [ValidateRange(0.001, 1000.0)]
    public double Resolution { get; set; }

    /// <summary>Leave out waters (HOH, WAT, DOD, H2O, SOL, TIP, TIP3).</summary>
    [Parameter(ParameterSetName = ModelSet)]
    [Parameter(ParameterSetName = ModelLiteralSet)]
    public SwitchParameter ExcludeWater { get; set; }

    /// <summary>
    /// Keep the model's coordinate frame: the grid is the model's own Å grid (index i at (Start + i) × voxel size), with
    /// StartX/Y/Z (MRC nxstart/nystart/nzstart) set so Export-EmVolume's map overlays the model in ChimeraX.
    /// </summary>
    [Parameter(ParameterSetName = ModelSet)]
    [Parameter(ParameterSetName = ModelLiteralSet)]
    public SwitchParameter KeepModelFrame { get; set; }

    protected override void ProcessRecord()
    {
        MemoryChecks.Require(this, MemoryChecks.Volume(Size), $"A {Size}³ volume", "Give a smaller -Size.", Size);
        if (ParameterSetName == PhantomSet)
        {
            WriteVerbose($"Phantom: {Core.Volumes.Phantom.BlobCount} Gaussian blobs in {Core.Volumes.Phantom.DomainCount} domains, L = {Size}, seed {Seed}.");
            WriteObject(Core.Volumes.Phantom.Create(Size, Seed, VoxelSize));
            return;
        }
        if (!(VoxelSize > 0))
        {
            Fail("-VoxelSize must be a positive number of Å for an atomic model (it sets the scale of the map). Give e.g. -VoxelSize 1.5.",
                "VoxelSizeRequired", ErrorCategory.InvalidArgument, VoxelSize);
        }
        string path = ParameterSetName == ModelSet
            ? ResolveInputFile(AtomicModel, false, "Pdb")
            : ResolveInputFile(LiteralPath, true, "Pdb");
        double resolution = MyInvocation.BoundParameters.ContainsKey(nameof(Resolution)) ? Resolution : 3 * VoxelSize;
        AtomicModel? model = null;
        try
        {
            model = Core.Volumes.AtomicModel.Load(path, ExcludeWater);
        }
        catch (AtomicModelException ex)
        {
            Fail(new FormatException($"{path}: {ex.Message}", ex), ex.ErrorId, ErrorCategory.InvalidData, path);
        }
        catch (IOException ex)
        {
            Fail(ex, "PdbReadFailed", ErrorCategory.ReadError, path);
        }
        WriteVerbose($"{path}: {model.Atoms.Count} atoms ({model.SkippedRecords} records skipped), Σ Z = {model.TotalWeight:0.#}; " +
            $"σ = {Core.Volumes.AtomicModel.SigmaFactor * resolution:0.###} Å from resolution {resolution:0.###} Å; " +
            (KeepModelFrame ? "the model's own frame (MRC nxstart/nystart/nzstart set)." : "centre of mass at the grid origin."));
        Volume? volume = null;
        List<string>? warnings = null;
        try
        {
            volume = model.ToVolume(Size, VoxelSize, resolution, KeepModelFrame.IsPresent, out warnings, CancellationToken);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            Fail(ex, "InvalidResolution", ErrorCategory.InvalidArgument, resolution);
        }
        foreach (var warning in warnings)
        {
            WriteWarning(warning);
        }
        WriteObject(volume);
    }
}
