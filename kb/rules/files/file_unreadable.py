from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class FileUnreadable(LoadRule):
    """A file kb should read is not a regular file it can read.

    It is a FIFO, a socket, a device, a directory under a file's name, a symbolic link loop
    or a dangling link, or access is denied.

    Why: kb never opens anything but a regular file. A FIFO would hang every `kb check` and
    `kb route` (at 02:17, the router must answer), a link to `/dev/zero` never ends, and a
    folder named like a card hides the card that should be there. Such a path is left out
    and reported here, never read.

    Bad:

    ```yaml
    cards/queue-stuck.yaml: -> /dev/zero   # a link to a device
    ```

    Good:

    ```yaml
    cards/queue-stuck.yaml: a regular file holding the card
    ```
    """

    code = "KB103"
    reports = LoadProblem.UNREADABLE
    name = "file/unreadable"
    level = Level.ERROR
