namespace Harness.Metrics;

/// <summary>Which way a metric improves: tables mark the best value of a column with it and draw an arrow.</summary>
public enum BetterDirection
{
    /// <summary>Higher is better (↑): localisation, class sensitivity, insertion AUC.</summary>
    Higher,

    /// <summary>Lower is better (↓): errors such as completeness, deletion AUC, MPRT similarity.</summary>
    Lower,

    /// <summary>Closer to zero is better (→0): minimality, a signed ratio.</summary>
    TowardZero,
}
