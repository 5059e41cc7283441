namespace Coral.Pipeline.Models;

/// <summary>A model the pipeline needs is missing or not loadable; says which and how to get it.</summary>
public sealed class ModelUnavailableException(string message, Exception? inner = null) : Exception(message, inner), ICoralInputError;
