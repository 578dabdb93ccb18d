package org.lifeboat.rig.mm2;
public final class Mm2Runner { public static void main(String[] a) {} }
