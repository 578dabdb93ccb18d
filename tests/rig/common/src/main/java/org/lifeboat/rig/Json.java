package org.lifeboat.rig;

import java.util.List;
import java.util.Map;

/**
 * Just enough JSON writing for an endpoints file: maps (in their iteration order), lists,
 * strings, numbers, booleans and null. No dependency, so that every launcher can use it
 * whatever its system drags onto the classpath. Stateless; safe from any thread.
 */
public final class Json {
  private Json() {}

  /** The JSON text of {@code value}, indented by two spaces per level. */
  public static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(out, value, 0);
    out.append('\n');
    return out.toString();
  }

  private static void write(StringBuilder out, Object value, int depth) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String s) {
      quote(out, s);
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        out.append(first ? "\n" : ",\n");
        first = false;
        indent(out, depth + 1);
        quote(out, String.valueOf(e.getKey()));
        out.append(": ");
        write(out, e.getValue(), depth + 1);
      }
      if (!first) {
        out.append('\n');
        indent(out, depth);
      }
      out.append('}');
    } else if (value instanceof List<?> list) {
      out.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          out.append(", ");
        }
        write(out, list.get(i), depth + 1);
      }
      out.append(']');
    } else {
      quote(out, value.toString());
    }
  }

  private static void indent(StringBuilder out, int depth) {
    out.append("  ".repeat(depth));
  }

  private static void quote(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
