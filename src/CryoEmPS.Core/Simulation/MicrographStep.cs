namespace CryoEmPS.Core.Simulation;

/// <summary>
/// One processing step recorded on a <see cref="Micrograph"/>: what was done (a cmdlet or operation name) and its parameters
/// as text, in the order given, so that the step can be repeated. A parameter whose value is "" is a switch.
/// </summary>
public sealed record MicrographStep(string Operation, IReadOnlyDictionary<string, string> Parameters)
{
    public override string ToString()
        => Parameters.Count == 0
            ? Operation
            : $"{Operation} {string.Join(" ", Parameters.Select(p => p.Value.Length == 0 ? $"-{p.Key}" : $"-{p.Key} {p.Value}"))}";
}
