namespace Icdiff.Tabular;

/// <summary>
/// Passes a text reader's characters through, counting physical lines (ended by \n, \r\n or \r), and stops with
/// <see cref="LineTooLongException"/> as soon as one line passes the limit: a parser buffering a record would
/// otherwise hold a 400 MB line in memory before anyone could measure it.
/// </summary>
internal sealed class LineLimitedReader(TextReader inner, int maxLineChars) : TextReader
{
    private long _line = 1;
    private int _lineLength;
    private bool _afterCarriageReturn;

    public override int Peek() => inner.Peek();

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        var read = inner.Read(buffer);
        Count(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Count(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(char[] buffer, int index, int count) => ReadAsync(buffer.AsMemory(index, count)).AsTask();

    private void Count(ReadOnlySpan<char> chars)
    {
        foreach (var c in chars)
        {
            if (c == '\n')
            {
                if (!_afterCarriageReturn)
                {
                    _line++;
                }

                _lineLength = 0;
                _afterCarriageReturn = false;
            }
            else if (c == '\r')
            {
                _line++;
                _lineLength = 0;
                _afterCarriageReturn = true;
            }
            else
            {
                _afterCarriageReturn = false;
                if (++_lineLength > maxLineChars)
                {
                    throw new LineTooLongException(_line);
                }
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
