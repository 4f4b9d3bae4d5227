namespace Harness.Attribution;

/// <summary>
/// One training session over a <see cref="TrainingSet"/>: trainable methods keep their trained or loaded state here
/// (MIP-IN: its inverse networks) so several variants and methods share it, and disposing the session frees it. Give
/// one to <see cref="AttributionMethods.Create"/> whenever a trainable method may be created.
/// </summary>
public sealed class MethodTraining(TrainingSet set) : IDisposable
{
    private readonly Dictionary<string, IDisposable> _states = new(StringComparer.Ordinal);

    /// <summary>The images and settings training uses.</summary>
    public TrainingSet Set { get; } = set;

    /// <summary>The state a method keeps under <paramref name="key"/>, made by <paramref name="create"/> on first use.</summary>
    public T State<T>(string key, Func<TrainingSet, T> create) where T : class, IDisposable
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_states.TryGetValue(key, out var state))
            return state as T ?? throw new InvalidOperationException($"training state '{key}' is a {state.GetType().Name}, not a {typeof(T).Name}");
        var made = create(Set);
        _states[key] = made;
        return made;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var states = _states.Values.ToList();
        _states.Clear();
        List<Exception>? errors = null;
        foreach (var s in states)
        {
            try { s.Dispose(); }
            catch (Exception e) { (errors ??= new()).Add(e); } // free the others before reporting
        }
        if (errors is not null) throw new AggregateException("disposing trained method state failed", errors);
    }
}
