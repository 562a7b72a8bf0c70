using System.Globalization;
using System.Management.Automation;
using CryoEmPS.Core.IO;

namespace CryoEmPS.Commands;

/// <summary>
/// Import-StarFile: reads a STAR file (RELION's metadata format) into its data blocks (StarBlock: Name, Columns, Rows), or
/// with -AsObject into one object per table row whose properties are the columns (numbers as doubles).
/// </summary>
[Cmdlet(VerbsData.Import, "StarFile", DefaultParameterSetName = "Path")]
[OutputType(typeof(StarBlock), typeof(PSObject))]
public sealed class ImportStarFileCommand : CryoEmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Only these data blocks (names without "data_", e.g. particles, optics).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Block { get; set; }

    /// <summary>Emit one object per row (columns as properties, without the _rln prefix's underscore) instead of the blocks.</summary>
    [Parameter]
    public SwitchParameter AsObject { get; set; }

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == "LiteralPath";
        foreach (var path in literal ? LiteralPath : Path)
        {
            string file = ResolveInputFile(path, literal, "Star");
            IReadOnlyList<StarBlock> blocks = Array.Empty<StarBlock>();
            try
            {
                blocks = StarFile.Read(file);
            }
            catch (StarFormatException ex)
            {
                Fail(ex, "StarInvalidFormat", ErrorCategory.InvalidData, file);
            }
            catch (UnauthorizedAccessException ex)
            {
                Fail(ex, "StarAccessDenied", ErrorCategory.PermissionDenied, file);
            }
            catch (IOException ex)
            {
                Fail(ex, "StarReadFailed", ErrorCategory.ReadError, file);
            }
            WriteVerbose($"'{file}': {blocks.Count} data blocks ({string.Join(", ", blocks.Select(b => "data_" + b.Name))}).");
            foreach (var block in blocks)
            {
                if (Block != null && !Block.Contains(block.Name, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }
                if (!AsObject)
                {
                    WriteObject(block);
                    continue;
                }
                foreach (var row in block.Rows)
                {
                    var item = new PSObject();
                    item.Properties.Add(new PSNoteProperty("Block", block.Name));
                    for (int c = 0; c < block.Columns.Length; c++)
                    {
                        object value = double.TryParse(row[c], NumberStyles.Float, CultureInfo.InvariantCulture, out double number)
                            ? number
                            : row[c];
                        item.Properties.Add(new PSNoteProperty(block.Columns[c], value));
                    }
                    WriteObject(item);
                }
            }
        }
    }
}
