namespace CryoEmPS.Core.IO;

/// <summary>
/// A CTF file (RELION STAR or CTFFIND4 output) that cannot give a CTF for every micrograph it lists. <see cref="ErrorId"/>
/// is stable, for the cmdlets' error records: CtfColumnMissing (a column or header field is absent; the message names it
/// and the file), CtfDefocusInvalid (a defocus ≤ 0 or NaN; names the row), CtfValueInvalid (a value that is not a number),
/// CtfOpticsGroupUnknown (a micrograph names an optics group the data_optics block lacks), CtfParameterInvalid (another
/// CTF parameter out of range, e.g. amplitude contrast ≥ 1), CtfFormatUnknown (neither a STAR nor a CTFFIND4 file),
/// CtfInvalidFormat (a malformed STAR file) and CtfFileEmpty (no micrograph rows).
/// </summary>
public sealed class CtfFileException : IOException
{
    public CtfFileException(string errorId, string message, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
    }

    /// <summary>The stable identifier of the failure (e.g. CtfColumnMissing).</summary>
    public string ErrorId { get; }
}
