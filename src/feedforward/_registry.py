"""One name registry per concept: ``get`` / ``serialize`` / ``deserialize``.

Names are matched case-insensitively with underscores ignored, so ``"glorot_uniform"``,
``"GlorotUniform"`` and ``"glorotuniform"`` are one name. Classes resolve only through
these maps: nothing is ever imported by a name read from a file or a config.
"""

from __future__ import annotations

from .errors import FeedforwardError, describe


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


class Registry:
    """Name map for one concept, generated from a list of classes.

    Each class has a ``name`` attribute (its Keras name) and may list ``aliases``.
    Instances must provide ``get_config()`` returning JSON-safe constructor arguments.

    Parameters
    ----------
    kind : str
        The concept's name in messages, e.g. ``"optimizer"``.
    classes : iterable of type
        The classes to register at once (see ``register``).
    base : type, optional
        The concept's base class: ``get`` passes any instance of it through. Without one, only
        instances of the registered classes pass.
    """

    def __init__(self, kind: str, classes, base=None):
        self.kind = kind
        self.base = base
        self.classes = {}
        self._map = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls):
        """Add ``cls`` under its name, its class name and its aliases; a taken name is an error.

        Parameters
        ----------
        cls : type
            A class with a ``name`` attribute and optionally ``aliases``.

        Returns
        -------
        type
            ``cls`` itself, so that ``register`` can serve as a class decorator.
        """
        names = (cls.name, cls.__name__, *getattr(cls, "aliases", ()))
        for name in names:
            # silently replacing would make the other class unreachable by that name
            other = self._map.get(_key(name))
            if other is not None and other is not cls:
                raise FeedforwardError(f"{self.kind} name {name!r} of {cls.__name__}: "
                                       f"already taken by {other.__name__}")
        self.classes[cls.name] = cls
        for name in names:
            self._map[_key(name)] = cls
        return cls

    @property
    def plural(self) -> str:
        return self.kind + ("es" if self.kind.endswith("s") else "s")

    def names(self) -> list[str]:
        """The canonical names plus aliases, sorted.

        Returns
        -------
        list of str
            Every name a user may pass, as registered.
        """
        out = set(self.classes)
        for cls in self.classes.values():
            out.update(getattr(cls, "aliases", ()))
        return sorted(out)

    def lookup(self, name: str):
        """The class registered under ``name``, matched case-insensitively.

        Parameters
        ----------
        name : str
            A canonical name, class name or alias; underscores and hyphens are ignored.

        Returns
        -------
        type
            The registered class (not an instance).
        """
        cls = self._map.get(_key(name)) if isinstance(name, str) else None
        if cls is None:
            raise FeedforwardError(
                f"unknown {self.kind} {name!r}; known {self.plural}: {', '.join(self.names())}")
        return cls

    def get(self, x, **defaults):
        """Resolve None, a name, a config dict or an instance to an instance (None stays None).

        Parameters
        ----------
        x : None, str, dict or instance
            What to resolve: a name, a ``{"class_name": ..., "config": ...}`` dict, or an
            instance, which is returned as is.
        **defaults
            Constructor arguments used when ``x`` is a name.

        Returns
        -------
        object or None
            An instance of a registered class, or None for None.
        """
        if x is None:
            return None
        if isinstance(x, str):
            return self._construct(self.lookup(x), defaults)
        if isinstance(x, dict):
            return self.deserialize(x)
        if self.base is not None and isinstance(x, self.base):
            return x
        if self.base is None and type(x) in self.classes.values():
            return x
        raise FeedforwardError(f"{self.kind}: expected a name, a config dict or an instance of "
                               f"{self.kind}, got {describe(x)}")

    def serialize(self, obj) -> dict | None:
        """The JSON-safe config dict of an instance, the inverse of ``deserialize``.

        Parameters
        ----------
        obj : object or None
            An instance of a registered class.

        Returns
        -------
        dict or None
            ``{"class_name": name, "config": obj.get_config()}``, or None for None.
        """
        if obj is None:
            return None
        return {"class_name": type(obj).name, "config": obj.get_config()}

    def deserialize(self, d: dict):
        """Construct an instance from a dict written by ``serialize``.

        Parameters
        ----------
        d : dict
            ``{"class_name": name, "config": constructor arguments}``; a missing config means
            the defaults.

        Returns
        -------
        object
            A new instance of the class registered under ``d["class_name"]``.
        """
        if not isinstance(d, dict) or "class_name" not in d:
            raise FeedforwardError(f"{self.kind} config: expected a dict with 'class_name' and "
                                   f"'config', got {describe(d)}")
        cls = self.lookup(d["class_name"])
        config = d.get("config") or {}
        if not isinstance(config, dict):
            raise FeedforwardError(
                f"{self.kind} config: 'config' must be a dict, got {describe(config)}")
        return self._construct(cls, config)

    def _construct(self, cls, config: dict):
        # a missing or unknown argument is a TypeError from Python, and an argument of the wrong
        # type may fail in a conversion (float("x"), int(nan), float(10**400)): all bad input
        try:
            return cls(**config)
        except FeedforwardError:
            raise
        except (TypeError, ValueError, OverflowError) as e:
            text = repr(config)
            text = text if len(text) <= 200 else text[:197] + "..."
            raise FeedforwardError(f"{self.kind} {cls.name!r}: bad config {text} ({e})") from None


class Configurable:
    """Mixin: ``get_config`` from the constructor arguments stored under the same names."""

    _config_keys: tuple[str, ...] = ()

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this object.

        Returns
        -------
        dict
            JSON-safe constructor arguments by name: ``type(self)(**self.get_config())`` makes
            an equal object.
        """
        return {k: getattr(self, k) for k in self._config_keys}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
