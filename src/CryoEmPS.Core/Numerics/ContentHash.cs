using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CryoEmPS.Core.Numerics;

/// <summary>
/// SHA-256 of canonical bytes, the one fingerprint of the module (patch sets, initial volumes, rotation sets in checkpoints).
/// Integers are 32- or 64-bit little-endian, strings UTF-8 after their byte count, doubles their IEEE-754 bits little-endian
/// (every NaN as the one canonical NaN; −0 and +0 stay distinct), digests their 32 bytes. Every hash starts with a domain
/// string, so fingerprints of different kinds never coincide. Fingerprints compose: a part's digest (e.g. one micrograph's
/// patches) is added to the whole in order, so a distributed run combines per-rank digests without one rank holding all data.
/// </summary>
public sealed class ContentHash : IDisposable
{
    private const long CanonicalNaN = 0x7FF8000000000000L;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[8192];

    /// <summary>A hash whose first input is <paramref name="domain"/> (e.g. "CryoEmPS.PatchSet/1").</summary>
    public ContentHash(string domain) => Add(domain);

    public ContentHash Add(int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        _hash.AppendData(bytes);
        return this;
    }

    public ContentHash Add(long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        _hash.AppendData(bytes);
        return this;
    }

    public ContentHash Add(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Add(bytes.Length);
        _hash.AppendData(bytes);
        return this;
    }

    /// <summary>A digest of a part (32 bytes, from <see cref="FinishBytes"/>).</summary>
    public ContentHash AddDigest(ReadOnlySpan<byte> digest)
    {
        _hash.AppendData(digest);
        return this;
    }

    public ContentHash Add(double value)
    {
        Span<double> one = stackalloc double[1] { value };
        return Add(one);
    }

    /// <summary>The values' canonical bits, in order (the count is not added: add it first when it is not fixed).</summary>
    public ContentHash Add(ReadOnlySpan<double> values)
    {
        int perBuffer = _buffer.Length / 8;
        for (int start = 0; start < values.Length; start += perBuffer)
        {
            int count = Math.Min(perBuffer, values.Length - start);
            for (int i = 0; i < count; i++)
            {
                double v = values[start + i];
                long bits = double.IsNaN(v) ? CanonicalNaN : BitConverter.DoubleToInt64Bits(v);
                BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(8 * i), bits);
            }
            _hash.AppendData(_buffer, 0, 8 * count);
        }
        return this;
    }

    /// <summary>The 32-byte digest; the hash cannot be used afterwards.</summary>
    public byte[] FinishBytes() => _hash.GetHashAndReset();

    /// <summary>The digest as 64 lower-case hexadecimal digits.</summary>
    public string Finish() => Convert.ToHexString(FinishBytes()).ToLowerInvariant();

    public void Dispose() => _hash.Dispose();
}
