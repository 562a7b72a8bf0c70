namespace CryoEmPS.Core.Numerics;

/// <summary>
/// The one parallel loop of the EM and the forward model: items are independent and each writes only its own output slots, so the
/// result never depends on how many threads ran or in what order (every reduction over items is done afterwards,
/// sequentially, in item order). Per-thread state (aligned FFT buffers) is made by <c>init</c> and freed by <c>free</c>.
/// </summary>
internal static class ParallelLoop
{
    public static void For<TState>(
        int count, int threads, Func<TState> init, Action<TState, int> body, Action<TState> free, CancellationToken token)
        where TState : class
    {
        if (count <= 0)
        {
            return;
        }

        token.ThrowIfCancellationRequested();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = token };
        try
        {
            Parallel.For(0, count, options, init,
                (i, _, state) =>
                {
                    token.ThrowIfCancellationRequested();
                    body(state, i);
                    return state;
                },
                free);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count >= 1)
        {
            var first = ex.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? ex.InnerExceptions[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
