using System.Text;

namespace Icdiff.Tabular;

/// <summary>
/// Lines of a text file with a length limit that holds while reading: <see cref="StreamReader.ReadLineAsync(CancellationToken)"/>
/// returns a line only once it is whole, so one 400 MB line costs gigabytes before anyone can measure it. Here a line
/// grows in a builder until it reaches the limit, and reading stops there. Ends lines at \n, \r\n or \r, as StreamReader does.
/// </summary>
internal sealed class BoundedLineReader(StreamReader reader, int maxLineChars)
{
    private readonly char[] _buffer = new char[16 * 1024];
    private readonly StringBuilder _line = new();
    private int _position;
    private int _length;
    private bool _skipLineFeed;

    /// <summary>The next line, or null at the end; a line longer than the limit is a <see cref="LineTooLongException"/>.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        var any = false;
        while (true)
        {
            if (_position == _length)
            {
                _length = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken);
                _position = 0;
                if (_length == 0)
                {
                    return any ? _line.ToString() : null;
                }
            }

            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (_buffer[_position] == '\n')
                {
                    _position++;
                    continue;
                }
            }

            any = true;
            var span = _buffer.AsSpan(_position, _length - _position);
            var end = span.IndexOfAny('\n', '\r');
            var take = end < 0 ? span.Length : end;
            if (_line.Length + take > maxLineChars)
            {
                throw new LineTooLongException(0);
            }

            _line.Append(span[..take]);
            _position += take;
            if (end >= 0)
            {
                _skipLineFeed = span[end] == '\r';
                _position++;
                return _line.ToString();
            }
        }
    }
}

/// <summary>A line went past a reader's limit; <see cref="Line"/> is its number where the reader counts lines (else 0), and the caller names the file.</summary>
internal sealed class LineTooLongException : Exception
{
    public LineTooLongException()
    {
    }

    public LineTooLongException(long line)
        : base($"line {line} is too long")
    {
        Line = line;
    }

    public LineTooLongException(string message)
        : base(message)
    {
    }

    public LineTooLongException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public long Line { get; }
}
